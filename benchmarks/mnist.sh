#!/usr/bin/env bash
# Train and evaluate one MNIST run: benchmarks/mnist.sh LABELS SEED [extra train.py flags]
# Resumable: rerunning the same command continues from the run's last checkpoint.
# MNIST_NPZ names the data file (default ../shared/data/mnist.npz); Fashion-MNIST's runs the same way.
# The protocol is in the script: seeds 1-99 are for development and are judged on the run's validation
# split only (eval_validation.json); seeds >= 101 are for reporting and are judged on the test set
# (eval.json, with the validation error beside it), once, after training: a rerun of a judged run does
# nothing. JUDGE=0 trains only, for a caller that judges the run itself (benchmarks/generator.sh).
set -euo pipefail
labels=${1:?usage: benchmarks/mnist.sh LABELS SEED [flags]}
seed=${2:?usage: benchmarks/mnist.sh LABELS SEED [flags]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MNIST_NPZ:-$root/../shared/data/mnist.npz}
run_dir=${RUN_DIR:-$root/runs/mnist${labels}_seed${seed}}
if (( seed >= 101 )); then split=test; elif (( seed >= 1 && seed <= 99 )); then split=validation; else
  echo "mnist.sh: seed $seed is neither a development seed (1-99) nor a reporting seed (>= 101)" >&2; exit 2
fi
if [[ $split == test && -e $run_dir/eval.json ]]; then  # rerunning must not read the test set again
  echo "mnist.sh: $run_dir was judged on the test set already; its report: $run_dir/eval.json" >&2; exit 0
fi
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
# This checkout's code, whatever ssl_gen another checkout may have installed.
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
python "$root/experiments/train.py" --data_path="$data" --num_labeled="$labels" --seed="$seed" \
  --output_dir="$run_dir" --alsologtostderr "$@"
if [[ ${JUDGE:-1} != 0 ]]; then
  python "$root/experiments/evaluate.py" --output_dir="$run_dir" --split="$split"
fi
