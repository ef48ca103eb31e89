#!/usr/bin/env bash
# Issue 11's GPU numbers in one run of at most ~8.8 minutes on a CUDA machine (H100/H200):
# the CUDA-graph tests, then benchmarks/gpu_throughput.py for connect4 and atari:Pong, one
# JSON file each, written under $OUT as each finishes (a preset that fails or runs out of
# time does not take the other's numbers with it).
#
# The GPU machine has torch, numba, numpy, matplotlib, tqdm, nvidia-ml-py and pytest but no
# package index: the rest travels as cp312 wheels in .whl/, downloaded here first with
#   python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl gymnasium ale-py farama-notifications psutil cloudpickle typing_extensions
# and the command run there is `bash benchmarks/gpu_check.sh` with .whl carried along.
#
# Anywhere else, the same script end to end on shrunken networks (a minute on the CPU):
#   bash benchmarks/gpu_check.sh --tiny          # writes under runs/gpu_check
set -uo pipefail
OUT=${OUT:-runs/gpu_check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
source benchmarks/device_wheels.sh
export PYTHONUNBUFFERED=1
TINY=()
SECONDS_PER_PHASE=12
if [ "${1:-}" = "--tiny" ]; then TINY=(--tiny); SECONDS_PER_PHASE=2; fi

nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi: a CPU run" > "$OUT/nvidia-smi.txt"
# The captured-graph tests run only where CUDA is; the CPU ones run everywhere.
timeout 75 $PY -m pytest -q -p no:cacheprovider tests/test_pipeline.py > "$OUT/tests.txt" 2>&1
echo "tests: exit $? (tail of $OUT/tests.txt:)"; tail -n 3 "$OUT/tests.txt"

# Seconds each preset may take: set-up (games, numba, graph capture, torch.compile), then
# five timed phases of $SECONDS_PER_PHASE s and one of half that (the learner with the batch
# prefetch switched), the process phase 10 s more for the child's start-up; the three
# train() calls end with a checkpoint.
declare -A LIMIT=([connect4]=196 [atari:Pong]=256)
for preset in connect4 atari:Pong; do
  name=${preset/:/_}
  timeout "${LIMIT[$preset]}" $PY benchmarks/gpu_throughput.py --presets "$preset" \
    --seconds "$SECONDS_PER_PHASE" "${TINY[@]}" \
    > "$OUT/gpu_throughput_$name.json" 2> "$OUT/gpu_throughput_$name.log"
  echo "$preset: exit $?"; cat "$OUT/gpu_throughput_$name.json"
done
