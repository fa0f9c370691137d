"""Where each run's classifier errs on its validation split, from its latest checkpoint: the validation
error and the largest confusion cells. One JSON line per run. It reads no test image and no label of the
unlabeled pool, so what it shows may guide a design choice.

python benchmarks/errors.py runs/mnist100_seed1 runs/mnist100_seed2
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from ssl_gen import data as data_lib  # noqa: E402
from ssl_gen.training import cli, runs  # noqa: E402
from ssl_gen.errors import ConfigError  # noqa: E402
from ssl_gen.evaluation import classifier_metrics, error_analysis  # noqa: E402

flags.DEFINE_integer("cells", 6, "How many of the largest confusion cells to list.")
flags.DEFINE_string("data_path", None, "Override the runs' data source with this .npz.")


def analyse(run_dir, cells, data_path=None):
    """Validation error and largest confusion cells of the run's latest checkpoint."""
    validation = data_lib.load_validation(run_dir)
    if not len(validation):
        raise ConfigError(f"{run_dir!r} has no validation split (--validation_size=0): nothing to analyse")
    _, data, method, step = runs.restore(run_dir, data_path)
    labels = data.y_train[validation]
    predictions = classifier_metrics.predict(method.classify, data.x_train[validation])
    matrix = classifier_metrics.confusion_matrix(labels, predictions, data.spec.num_classes)
    return {"run": run_dir, "step": step, "validation_error": float(np.mean(predictions != labels)),
            "num_validation_images": int(len(validation)),
            "largest_cells": [f"{t}->{p}: {n}" for t, p, n in error_analysis.largest_confusions(matrix, cells)]}


def main(argv):
    values = flags.FLAGS
    for run_dir in argv[1:]:
        print(json.dumps(analyse(run_dir, values.cells, values.data_path)))


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
