#!/usr/bin/env bash
# Issue 12's two GPU runs in one command of at most ~9 minutes on the lent machine (one H100/H200,
# 16 cores), side by side on the one GPU, since a session gets 15 minutes of it in all:
#   pong:     atari:Pong from scratch, the preset at 256 games (benchmarks/gpu_run.py);
#   connect4: the preset from scratch (ResNet 6 x 64, Adam, 256 games), evaluated afterwards on
#             the CPU with benchmarks/connect4_strength.py, which takes longer than the run.
#             (Training the shipped 2 x 32 agent on, as the 2026-11-28 run did, gave nothing:
#             that network is at its ceiling, data/checkpoints/connect4.json.)
# LEARNER_GRAPH=on records both learners as CUDA graphs (--set learner_graph=on): use it once
# benchmarks/gpu_learner.sh has shown that the recorded learner passes its tests on the GPU.
# Both in the overlapped pipeline (self-play in a thread beside the learner, one GPU), each
# with 7 of the 16 cores' worth of torch threads. The CUDA-graph tests (search and learner)
# run beside them.
#
# What comes back under $OUT: results.tgz (the two run folders without their replay, one log
# per process, nvidia-smi, GPU use every 5 s), rewritten every 30 s, so a command cut short
# still returns what was done; pong.pt and connect4.pt (the final checkpoints) at the end.
#
# The device command, carrying .whl (bash ../shared/device/wheels.sh psutil cloudpickle
# typing_extensions): bash benchmarks/gpu_culmination.sh
# Anywhere else, the same script end to end on tiny settings (~2 minutes on a CPU):
#   bash benchmarks/gpu_culmination.sh --tiny            # writes under runs/gpu_culmination
set -uo pipefail
OUT=${OUT:-runs/gpu_culmination}
PY=${PYTHON:-python3}
RUNS=${RUNS:-/tmp/culmination}
mkdir -p "$OUT" "$RUNS/logs"
source benchmarks/device_wheels.sh
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=7
WALL=400 LIMIT=520
GRAPH=(--set learner_graph=${LEARNER_GRAPH:-off})
PONG=(--set num_envs=256 --set pipeline=overlap --set train_ratio=0.03 --set checkpoint_interval=1000
      "${GRAPH[@]}")
C4=(--set num_envs=256 --set pipeline=overlap --set checkpoint_interval=1000 "${GRAPH[@]}")
TINY=()
if [ "${1:-}" = "--tiny" ]; then
  WALL=30 LIMIT=150
  PONG=(--tiny --set pipeline=overlap --set checkpoint_interval=20)
  C4=(--set num_envs=4 --set num_simulations=4 --set batch_size=16 --set chunk_moves=5
      --set channels=8 --set num_blocks=1 --set pipeline=overlap --set checkpoint_interval=20)
  TINY=(--tiny)
fi

pack() {  # everything but the replay, into one file, replaced whole
  tar czf "$OUT/.results.tgz" -C "$RUNS" --exclude=replay . 2>/dev/null \
    && mv "$OUT/.results.tgz" "$OUT/results.tgz"
}

nvidia-smi > "$RUNS/logs/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi: a CPU run" > "$RUNS/logs/nvidia-smi.txt"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 \
  > "$RUNS/logs/gpu_use.csv" 2>/dev/null &
SMI=$!
if [ ${#TINY[@]} -eq 0 ]; then
  timeout 120 $PY -m pytest -q -p no:cacheprovider tests/test_pipeline.py -k "recorded or captured" \
    > "$RUNS/logs/tests_cuda.txt" 2>&1 &
fi
timeout $LIMIT $PY benchmarks/gpu_run.py atari:Pong --max-wall-s $WALL "${PONG[@]}" \
  --out "$RUNS/pong" > "$RUNS/logs/pong.json" 2> "$RUNS/logs/pong.log" &
P1=$!
timeout $LIMIT $PY benchmarks/gpu_run.py connect4 --max-wall-s $WALL --eval-games 0 "${C4[@]}" \
  --out "$RUNS/connect4" > "$RUNS/logs/connect4.json" 2> "$RUNS/logs/connect4.log" &
P2=$!
while kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null; do
  sleep 30; pack
done
wait $P1; echo "pong: exit $?"; wait $P2; echo "connect4: exit $?"
kill $SMI 2>/dev/null
wait
pack
for run in pong connect4; do
  [ -f "$RUNS/$run/checkpoint.pt" ] && cp "$RUNS/$run/checkpoint.pt" "$OUT/$run.pt"
  cat "$RUNS/logs/$run.json"; tail -n 3 "$RUNS/logs/$run.log"
done
tail -n 3 "$RUNS/logs/tests_cuda.txt" 2>/dev/null
ls -la "$OUT"
