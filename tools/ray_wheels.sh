#!/usr/bin/env bash
# Ray for the GPU machine (issue 16), which reaches no package index: Ray and its dependencies
# as cp312 manylinux wheels in .whl-ray/ (ignored by git). Ray's own wheel is slimmed by
# tools/slim_ray_wheel.py (Ray 2.60: 75.6 -> 39.9 MiB; the whole folder about 43 MiB) so that
# it, .whl/ (gymnasium, ale-py: ../shared/device/wheels.sh or the pip line in
# benchmarks/gpu_check.sh) and the working tree fit the 64 MiB a device run carries.
# benchmarks/ray_device_check.sh installs both folders there.
#
#   bash tools/ray_wheels.sh            # from the project's root, after `make setup`
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
VERSION=${RAY_VERSION:-2.60.0}
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
$PY -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$download" "ray==$VERSION"
rm -rf .whl-ray
mkdir -p .whl-ray
for wheel in "$download"/*.whl; do
  case "$(basename "$wheel")" in
    ray-*) $PY tools/slim_ray_wheel.py "$wheel" .whl-ray ;;
    *) cp "$wheel" .whl-ray/ ;;
  esac
done
du -sh .whl-ray
