"""Evaluate a run's latest checkpoint: classifier and generator metrics, images, DIR/eval.json.

python experiments/evaluate.py --output_dir=runs/mnist100
"""

import json

from absl import app, flags

from ssl_gen.evaluation import report

flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("data_path", None,
                    "Override the run's data source with this .npz (default: the run's own source).")
flags.DEFINE_string("evaluator_dir", None, "Evaluator from experiments/train_evaluator.py (default: the "
                    "per-data-set cache that train_evaluator.py writes to).")
flags.DEFINE_integer("seed", 0, "Seed of the generated samples.")
flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    values = flags.FLAGS
    result = report.evaluate_run(values.output_dir, values.data_path, values.evaluator_dir, values.seed)
    summary = {key: value for key, value in result.items() if key != "confusion_matrix"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    app.run(main)
