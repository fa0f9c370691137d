#!/usr/bin/env bash
# The two-stage generator on MNIST-100: benchmarks/generator.sh SEED [extra train.py flags]
#   1. the data set's independent evaluator, if none is cached;
#   2. C: --preset=consistency, 100 labels (benchmarks/mnist.sh; $CLASSIFIER_RUN), unless TRAIN_CLASSIFIER=0;
#   3. G from that C, held fixed, which pseudo-labels the unlabeled images ($GENERATOR_RUN);
#   4. the same G/D with every training image labeled, the FID reference ($REFERENCE_RUN);
#   5. both Gs judged on the validation split at each latent scale in $LATENT_SCALES and through the
#      best-of-K sampler for each K in $BEST_OF: the table to choose a sampler from;
#   6. on a reporting seed (>= 101), both Gs judged once on the test set through the sampler chosen on a
#      development seed's table, $FINAL_LATENT_SCALE and $FINAL_BEST_OF (1 and 1: G's own draws); without
#      both the test set is left unread. BEST_OF="" skips step 5.
# MODE_SEEKING_WEIGHT (default 1) is G's mode-seeking weight in stages 3 and 4. Extra flags go to all three
# training stages (e.g. --mixed_precision). Resumable: rerunning the same command continues each
# unfinished stage from its checkpoints; finished ones are judged again.
set -euo pipefail
seed=${1:?usage: benchmarks/generator.sh SEED [flags]}
shift 1
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MNIST_NPZ:-$root/../shared/data/mnist.npz}
runs=${RUNS_ROOT:-$root/runs}
mode_seeking_weight=${MODE_SEEKING_WEIGHT:-1}
# The weight in the default run names, so a rerun with another weight never resumes (or re-judges) a run
# trained with a different one.
[[ $mode_seeking_weight =~ ^0*\.?0*$ ]] && weight_suffix="" || weight_suffix="_ms$mode_seeking_weight"
classifier_run=${CLASSIFIER_RUN:-$runs/mnist100_consistency_seed$seed}
generator_run=${GENERATOR_RUN:-$runs/cgan/consistency_s${seed}_w3$weight_suffix}
reference_run=${REFERENCE_RUN:-$runs/cgan/full_s${seed}_w3$weight_suffix}
latent_scales=${LATENT_SCALES:-1 0.75 0.5}
best_of=${BEST_OF-1 2}
final_latent_scale=${FINAL_LATENT_SCALE:-}
final_best_of=${FINAL_BEST_OF:-}
generator_steps=${GENERATOR_STEPS:-20000}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
echo "generator.sh: C $classifier_run, G $generator_run, reference $reference_run," \
  "mode-seeking weight $mode_seeking_weight" >&2
all_labels=$(python -c "import numpy as np, sys; print(len(np.load(sys.argv[1])['y_train']))" "$data")

python "$root/experiments/train_evaluator.py" --data_path="$data" --if_missing --alsologtostderr
# TRAIN_CLASSIFIER=0 takes $CLASSIFIER_RUN's classifier as it is, however it was trained.
if [[ ${TRAIN_CLASSIFIER:-1} != 0 ]]; then
  RUN_DIR=$classifier_run "$root/benchmarks/mnist.sh" 100 "$seed" --preset=consistency "$@"
fi
# Weight 3 on C's cross-entropy of G's samples; the MLP networks and the schedule the reported Gs had.
generator_flags=(--method=pseudo_label --generator_classification_weight=3 --train_steps="$generator_steps"
                 --generator_mode_seeking_weight="$mode_seeking_weight" --architecture=mlp
                 --lr_decay_start=0.5 --lr_warmup_steps=0 --generator_tanh_scale=1.0)
# JUDGE=0: the G stages are judged below, so a reporting seed's test set is read once, by the chosen sampler.
JUDGE=0 RUN_DIR=$generator_run "$root/benchmarks/mnist.sh" 100 "$seed" "${generator_flags[@]}" \
  --classifier_from="$classifier_run" "$@"
# num_labeled = every training image: all of them outside the validation split are labeled.
JUDGE=0 RUN_DIR=$reference_run "$root/benchmarks/mnist.sh" "$all_labels" "$seed" "${generator_flags[@]}" "$@"

judge() {  # judge SPLIT CANDIDATES SCALES...: both Gs, then their table
  local split=$1 candidates=$2
  shift 2
  for scale in "$@"; do
    for run in "$generator_run" "$reference_run"; do
      python "$root/experiments/evaluate.py" --output_dir="$run" --latent_scale="$scale" \
        --candidates="$candidates" --split="$split" > /dev/null
    done
  done
  printf '\n%s split, the best of %s draws (1: G alone):\n' "$split" "$candidates"
  python "$root/benchmarks/summarize.py" --table=generator --split="$split" --candidates="$candidates" \
    "$generator_run" "$reference_run"
}

for candidates in $best_of; do
  judge validation "$candidates" $latent_scales
done
if (( seed >= 101 )); then
  if [[ -z $final_latent_scale || -z $final_best_of ]]; then
    echo "generator.sh: the test set is left unread: set FINAL_LATENT_SCALE and FINAL_BEST_OF to the sampler" \
      "chosen on a development seed's validation table and rerun (the trained stages resume)" >&2
  else
    judge test "$final_best_of" "$final_latent_scale"
  fi
fi
