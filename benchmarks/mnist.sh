#!/usr/bin/env bash
# Reproduce one MNIST row of docs/RESULTS.md: benchmarks/mnist.sh LABELS SEED [extra train.py flags]
# Resumable: rerunning the same command continues from the run's last checkpoint.
set -euo pipefail
labels=${1:?usage: benchmarks/mnist.sh LABELS SEED [flags]}
seed=${2:?usage: benchmarks/mnist.sh LABELS SEED [flags]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MNIST_NPZ:-$root/../shared/data/mnist.npz}
run_dir=${RUN_DIR:-$root/runs/mnist${labels}_seed${seed}}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# This checkout's code, whatever ssl_gen another checkout may have installed.
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
python "$root/experiments/train.py" --data_path="$data" --num_labeled="$labels" --seed="$seed" \
  --output_dir="$run_dir" --alsologtostderr "$@"
python "$root/experiments/evaluate.py" --output_dir="$run_dir"
