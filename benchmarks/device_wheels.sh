# Sourced by the one-shot GPU scripts: the GPU machine has no package index, so the packages
# it lacks travel with the command as wheels (.whl: bash ../shared/device/wheels.sh psutil
# cloudpickle typing_extensions; .whl-ray: bash tools/ray_wheels.sh) and are installed here
# into /tmp/site, ahead of the project on PYTHONPATH. Elsewhere (no such folders) it does nothing.
for wheels in .whl .whl-ray; do
  if [ -d "$wheels" ]; then
    ${PY:-python3} -m pip install -q --no-index --no-deps --target /tmp/site "$wheels"/*.whl
  fi
done
if [ -d /tmp/site ]; then export PYTHONPATH=/tmp/site:$PWD; fi
