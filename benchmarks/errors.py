"""Where each run's classifier errs, from its latest checkpoint: test error, the largest confusion cells,
and what it calls the footed 1s (docs/RESULTS.md, "The footed 1s"). One JSON line per run.

python benchmarks/errors.py runs/warm/s4_w1000 runs/warm/s5_w1000
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from ssl_gen import runs  # noqa: E402
from ssl_gen.evaluation import classifier_metrics, error_analysis  # noqa: E402

flags.DEFINE_integer("cells", 6, "How many of the largest confusion cells to list.")
flags.DEFINE_string("data_path", None, "Override the runs' data source with this .npz.")
flags.DEFINE_integer("footed_class", 1, "Class whose footed images are counted.")
flags.DEFINE_list("drawn_foot_classes", [], "Classes whose training images get a foot drawn on (augment."
                  "random_foot, every one with a stem end), counting what C calls them with and without it: "
                  "would --augment_foot_classes on them give C hard examples?")


def _calls(predictions):
    classes, counts = np.unique(predictions, return_counts=True)
    return {int(c): int(n) for c, n in zip(classes, counts)}


def _drawn_foot(method, data, class_name):
    images = data.x_train[data.y_train == int(class_name)]
    plain, footed = error_analysis.calls_with_a_drawn_foot(method.classify, images)
    return {"drawn": int(len(plain)), "plain_called": _calls(plain), "footed_called": _calls(footed)}


def analyse(run_dir, cells, data_path, footed_class, drawn_foot_classes=()):
    _, data, method, step = runs.restore(run_dir, data_path)
    test_predictions = classifier_metrics.predict(method.classify, data.x_test)
    matrix = classifier_metrics.confusion_matrix(data.y_test, test_predictions, data.spec.num_classes)
    test_footed = error_analysis.footed_indices(data.x_test, data.y_test, footed_class)
    train_footed = error_analysis.footed_indices(data.x_train, data.y_train, footed_class)
    train_predictions = classifier_metrics.predict(method.classify, data.x_train[train_footed])
    return {"run": run_dir, "step": step,
            "test_error": float(np.mean(test_predictions != data.y_test)),
            "largest_cells": [f"{t}->{p}: {n}" for t, p, n in error_analysis.largest_confusions(matrix, cells)],
            "footed_test": {"indices": test_footed.tolist(), "called": _calls(test_predictions[test_footed])},
            "footed_train": {"count": int(len(train_footed)), "called": _calls(train_predictions)},
            **({"drawn_foot": {name: _drawn_foot(method, data, name) for name in drawn_foot_classes}}
               if drawn_foot_classes else {})}


def main(argv):
    values = flags.FLAGS
    for run_dir in argv[1:]:
        print(json.dumps(analyse(run_dir, values.cells, values.data_path, values.footed_class,
                                 values.drawn_foot_classes)))


if __name__ == "__main__":
    app.run(main)
