"""Evaluate a run's latest checkpoint (or an exported SavedModel): classifier and generator metrics,
images, DIR/eval.json.

python experiments/evaluate.py --output_dir=runs/mnist100                       # the test set, once
python experiments/evaluate.py --output_dir=runs/mnist100 --split=validation    # to choose settings
"""

import json

from absl import app, flags

from ssl_gen.training import cli
from ssl_gen.evaluation import report

flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("saved_model", None, "Judge a SavedModel from experiments/export.py instead of a run; "
                    "the report goes to SAVED_MODEL/eval.json and SAVED_MODEL/eval/.")
flags.DEFINE_string("data_path", None,
                    "Override the run's data source with this .npz (default: the run's own source).")
flags.DEFINE_string("evaluator_dir", None, "Evaluator from experiments/train_evaluator.py (default: the "
                    "per-data-set cache that train_evaluator.py writes to).")
flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
flags.DEFINE_integer("candidates", 1, "Judge the best-of-K sampler (ssl_gen/sampling.py): each image is the "
                     "one of K draws of G(z, y) that the model's classifier finds most likely y. The report "
                     "goes to eval_best_of_K.json beside G's own eval.json.", lower_bound=1)
flags.DEFINE_float("latent_scale", 1.0, "Judge G alone with its latents shrunk toward the prior's centre, "
                   "z' = c + s (z - c) (ssl_gen/sampling.py), into eval_latent_scale_S.json: s < 1 trades "
                   "diversity for fidelity, like BigGAN's truncation.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_enum("split", "test", report.SPLITS, "Real images to judge against: test (the final report, "
                  "with the validation error beside it) or validation (the run's held-out training images, "
                  "for choosing settings such as --latent_scale; into eval_validation.json).")
flags.register_multi_flags_validator(
    ["output_dir", "saved_model"], lambda values: bool(values["output_dir"]) != bool(values["saved_model"]),
    message="pass exactly one of --output_dir and --saved_model")


def main(argv):
    del argv
    values = flags.FLAGS
    if values.saved_model:
        result = report.evaluate_saved_model(values.saved_model, values.data_path, values.evaluator_dir,
                                             values.seed, values.candidates, values.latent_scale, values.split)
    else:
        result = report.evaluate_run(values.output_dir, values.data_path, values.evaluator_dir, values.seed,
                                     values.candidates, values.latent_scale, values.split)
    summary = {key: value for key, value in result.items() if key != "confusion_matrix"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
