#!/usr/bin/env bash
# Issue 16's numbers on the GPU machine (16 cores, one GPU), one run of at most ~9 minutes:
#   0. benchmarks/replay_throughput.py: the Atari frame stacking on 16 cores' threads (10.0-10.9x on 2);
#   1. tests/test_ray.py on a local Ray cluster;
#   2. benchmarks/actors_scaling.py, learner on the GPU, 0, 1, 2, 4 and 8 actors on the CPU
#      (one core each), for connect4 and atari:Pong with its small networks (a move in a
#      fraction of a second, so each run reaches its counted window);
#   3. connect4 with the preset's own network (ResNet 6x64, 256 games, 100 simulations), each
#      actor on a tenth of the GPU: one move of that search takes about 20 s on a CPU core.
# All with train_ratio=0.02 (as in the recorded CPU line of data/benchmarks/actors_scaling.jsonl):
# the learner then never holds the actors back, so env steps/s is what the actors can play.
# One JSON file per step 2-3 under $OUT, rewritten after every run: one cut short by its
# timeout keeps the runs it finished.
#
# Before, here: bash ../shared/device/wheels.sh (gymnasium, ale-py -> .whl/) and
# bash tools/ray_wheels.sh (Ray, slimmed, and its dependencies -> .whl-ray/). The device command
# is `bash benchmarks/ray_device_check.sh`, carrying .whl and .whl-ray.
# Anywhere else, the same script on the CPU with 3-second windows and 0-2 actors (~3 minutes):
#   bash benchmarks/ray_device_check.sh --tiny          # writes under runs/ray_device_check
set -uo pipefail
OUT=${OUT:-runs/ray_device_check}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
source benchmarks/device_wheels.sh
export PYTHONUNBUFFERED=1
DEVICE=cuda SECONDS_PER_RUN=10 ACTORS=(0 1 2 4 8)
if [ "${1:-}" = "--tiny" ]; then DEVICE=cpu SECONDS_PER_RUN=3 ACTORS=(0 1 2); fi
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi: a CPU run" > "$OUT/nvidia-smi.txt"
echo "cores: $(nproc); ray: $($PY -c 'import ray; print(ray.__version__, ray.__file__)' 2>&1)"

POSITIONS=100000
if [ "$DEVICE" = cpu ]; then POSITIONS=20000; fi
timeout 60 $PY benchmarks/replay_throughput.py --positions $POSITIONS \
  > "$OUT/replay_throughput.json" 2> "$OUT/replay_throughput.log"
echo "replay_throughput: exit $?"; cat "$OUT/replay_throughput.json"

timeout 90 $PY -m pytest -q -p no:cacheprovider tests/test_ray.py > "$OUT/tests_ray.txt" 2>&1
echo "tests: exit $? (tail of $OUT/tests_ray.txt:)"; tail -n 3 "$OUT/tests_ray.txt"

declare -A LIMIT=([connect4]=120 [atari:Pong]=140)
for game in connect4 atari:Pong; do
  name=${game/:/_}
  timeout "${LIMIT[$game]}" $PY benchmarks/actors_scaling.py --games "$game" \
    --actors "${ACTORS[@]}" --seconds "$SECONDS_PER_RUN" --device "$DEVICE" --set train_ratio=0.02 \
    --out "$OUT/actors_scaling_$name.json" 2> "$OUT/actors_scaling_$name.log" > /dev/null
  echo "$game: exit $?"; cat "$OUT/actors_scaling_$name.json" 2>/dev/null
done

if [ "$DEVICE" = cuda ]; then
  timeout 130 $PY benchmarks/actors_scaling.py --games connect4 --full --actor-gpus 0.1 \
    --actors "${ACTORS[@]}" --seconds "$SECONDS_PER_RUN" --device cuda --set train_ratio=0.02 \
    --out "$OUT/actors_scaling_connect4_full.json" 2> "$OUT/actors_scaling_connect4_full.log" \
    > /dev/null
  echo "connect4 --full: exit $?"; cat "$OUT/actors_scaling_connect4_full.json" 2>/dev/null
fi
