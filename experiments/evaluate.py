"""Evaluate a run's latest checkpoint on the full test set; writes DIR/eval.json.

python experiments/evaluate.py --output_dir=runs/mnist100
"""

import json

from absl import app, flags

from ssl_gen.evaluation import report

flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("data_path", None,
                    "Override the run's data source with this .npz (default: the run's own source).")
flags.mark_flag_as_required("output_dir")


def main(argv):
    del argv
    result = report.evaluate_run(flags.FLAGS.output_dir, flags.FLAGS.data_path)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
