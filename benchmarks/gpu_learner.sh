#!/usr/bin/env bash
# The recorded learner (learner_graph=on, muzero_lite/loss_graph.py) on the lent GPU, in one
# command of at most ~9 minutes:
#   1. its CUDA tests (the recorded step gives the eager loss and gradients; runs with it learn
#      and resume, serial and overlapped) and the search-graph tests (~1 minute);
#   2. benchmarks/learner_overhead.py: ms per learner step, launched op by op and recorded, at
#      full size and at trivial arithmetic, for three networks (-> learner_overhead.json);
#   3. Pong trained on from data/checkpoints/pong.pt for 180 s, 256 games overlapped, with
#      the learner recorded if step 1 passed, else as before (-> results.tgz, pong.pt).
# The device command, carrying .whl (bash ../shared/device/wheels.sh psutil cloudpickle
# typing_extensions): bash benchmarks/gpu_learner.sh
# Anywhere else, steps 2 and 3 on tiny settings (a few minutes on a CPU; step 1 skips there):
#   bash benchmarks/gpu_learner.sh --tiny                 # writes under runs/gpu_learner
set -uo pipefail
OUT=${OUT:-runs/gpu_learner}
PY=${PYTHON:-python3}
RUNS=${RUNS:-/tmp/gpu_learner}
mkdir -p "$OUT" "$RUNS/logs"
source benchmarks/device_wheels.sh
export PYTHONUNBUFFERED=1
WALL=180 LIMIT=235
OVERHEAD=(--presets atari:Pong,connect4_small,connect4 --steps 20)
PONG=(--set num_envs=256 --set pipeline=overlap --set train_ratio=0.03 --set checkpoint_interval=1000)
if [ "${1:-}" = "--tiny" ]; then
  WALL=30 LIMIT=150
  OVERHEAD=(--presets connect4_small --steps 3 --full-steps-cpu 1)
  PONG=(--tiny --set pipeline=overlap --set checkpoint_interval=20)
fi
pack() {  # everything but the replay, into one file, replaced whole
  tar czf "$OUT/.results.tgz" -C "$RUNS" --exclude=replay . 2>/dev/null \
    && mv "$OUT/.results.tgz" "$OUT/results.tgz"
}
nvidia-smi > "$RUNS/logs/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi: a CPU run" > "$RUNS/logs/nvidia-smi.txt"

timeout 100 $PY -m pytest -q -p no:cacheprovider tests/test_pipeline.py -k "recorded or captured" \
  > "$OUT/tests_cuda.txt" 2>&1
TESTS=$?
echo "tests: exit $TESTS"; tail -n 3 "$OUT/tests_cuda.txt"
GRAPH=off
if [ $TESTS -eq 0 ] && grep -q "passed" "$OUT/tests_cuda.txt" && ! grep -q "skipped" "$OUT/tests_cuda.txt"; then
  GRAPH=on
fi

timeout 200 $PY benchmarks/learner_overhead.py "${OVERHEAD[@]}" \
  > "$OUT/learner_overhead.json" 2> "$OUT/learner_overhead.log"
echo "learner_overhead: exit $?"; cat "$OUT/learner_overhead.json"

echo "pong: learner_graph=$GRAPH"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 \
  > "$RUNS/logs/gpu_use.csv" 2>/dev/null &
SMI=$!
INIT=(--init-from data/checkpoints/pong.pt)
[ "${1:-}" = "--tiny" ] && INIT=()  # the shipped agent's network is not the tiny one
timeout $LIMIT $PY benchmarks/gpu_run.py atari:Pong "${INIT[@]}" --max-wall-s $WALL --eval-games 0 \
  "${PONG[@]}" --set learner_graph=$GRAPH \
  --out "$RUNS/pong" > "$RUNS/logs/pong.json" 2> "$RUNS/logs/pong.log" &
P1=$!
while kill -0 $P1 2>/dev/null; do sleep 30; pack; done
wait $P1; echo "pong: exit $?"
kill $SMI 2>/dev/null
wait
pack
[ -f "$RUNS/pong/checkpoint.pt" ] && cp "$RUNS/pong/checkpoint.pt" "$OUT/pong.pt"
cat "$RUNS/logs/pong.json"; tail -n 3 "$RUNS/logs/pong.log"
ls -la "$OUT"
