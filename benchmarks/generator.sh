#!/usr/bin/env bash
# Reproduce the generator row of docs/RESULTS.md (100 labels): benchmarks/generator.sh SEED [extra train.py flags]
#   1. the data set's independent evaluator, if none is cached;
#   2. C: --preset=mnist100_feet, 100 labels (benchmarks/mnist.sh; $CLASSIFIER_RUN), unless TRAIN_CLASSIFIER=0;
#   3. G from that C, held fixed, which pseudo-labels the unlabeled images ($GENERATOR_RUN);
#   4. the same G/D with every training image labeled, the FID reference ($REFERENCE_RUN);
#   5. both Gs judged with latents shrunk to each of $LATENT_SCALES, then the table of conditional
#      accuracy, FID and FID ratio (benchmarks/summarize.py --table=generator);
#   6. the same through the best-of-K sampler (each image the one of K draws the run's own C finds most
#      likely of its label) for each K in $BEST_OF (default 2; empty for none): with K = 2 at scale 0.5
#      all five seeds meet both targets, G alone four (session 42).
# MODE_SEEKING_WEIGHT (default 1) is G's mode-seeking weight in stages 3 and 4: with it G alone meets both
# generator targets at scale 0.5 on all five seeds from bfloat16-trained Cs (sessions 39-40), on four from
# this script's float32 Cs (sessions 40-42); 0 reproduces the earlier tables and their run names.
# Extra flags go to all three training stages (e.g. --mixed_precision). Resumable: rerunning the same
# command continues each unfinished stage from its checkpoints; finished ones are judged again.
set -euo pipefail
seed=${1:?usage: benchmarks/generator.sh SEED [flags]}
shift 1
root=$(cd "$(dirname "$0")/.." && pwd)
data=${MNIST_NPZ:-$root/../shared/data/mnist.npz}
runs=${RUNS_ROOT:-$root/runs}
mode_seeking_weight=${MODE_SEEKING_WEIGHT:-1}
# A weight in the default run names, so a rerun with another weight never resumes (or re-judges) a run
# trained with a different one.
[[ $mode_seeking_weight =~ ^0*\.?0*$ ]] && weight_suffix="" || weight_suffix="_ms$mode_seeking_weight"
classifier_run=${CLASSIFIER_RUN:-$runs/mnist100_feet_seed$seed}
generator_run=${GENERATOR_RUN:-$runs/cgan/feet_s${seed}_w3$weight_suffix}
reference_run=${REFERENCE_RUN:-$runs/cgan/full_s${seed}_w3$weight_suffix}
latent_scales=${LATENT_SCALES:-0.75 0.5}
best_of=${BEST_OF-2}
generator_steps=${GENERATOR_STEPS:-20000}
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
echo "generator.sh: C $classifier_run, G $generator_run, reference $reference_run," \
  "mode-seeking weight $mode_seeking_weight" >&2
all_labels=$(python -c "import numpy as np, sys; print(len(np.load(sys.argv[1])['y_train']))" "$data")

python "$root/experiments/train_evaluator.py" --data_path="$data" --if_missing --alsologtostderr
# TRAIN_CLASSIFIER=0 takes $CLASSIFIER_RUN's classifier as it is, however it was trained.
if [[ ${TRAIN_CLASSIFIER:-1} != 0 ]]; then
  RUN_DIR=$classifier_run "$root/benchmarks/mnist.sh" 100 "$seed" --preset=mnist100_feet "$@"
fi
# Weight 3 on C's cross-entropy of G's samples: the setting the RESULTS tables measure.
generator_flags=(--method=pseudo_label --generator_classification_weight=3 --train_steps="$generator_steps"
                 --generator_mode_seeking_weight="$mode_seeking_weight")
RUN_DIR=$generator_run "$root/benchmarks/mnist.sh" 100 "$seed" "${generator_flags[@]}" \
  --classifier_from="$classifier_run" "$@"
RUN_DIR=$reference_run "$root/benchmarks/mnist.sh" "$all_labels" "$seed" "${generator_flags[@]}" "$@"
# One candidate is G alone (stage 5); more are the best-of-K sampler (stage 6).
for candidates in 1 $best_of; do
  for scale in $latent_scales; do
    for run in "$generator_run" "$reference_run"; do
      python "$root/experiments/evaluate.py" --output_dir="$run" --latent_scale="$scale" \
        --candidates="$candidates" > /dev/null
    done
  done
  [[ $candidates == 1 ]] || printf '\nThe best of %s draws, chosen by the run'"'"'s own C:\n' "$candidates"
  python "$root/benchmarks/summarize.py" --table=generator --candidates="$candidates" "$generator_run" \
    "$reference_run"
done
