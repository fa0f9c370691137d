"""The evaluation report of a run directory: DIR/eval.json."""

import json
import os

from ssl_gen import runs
from ssl_gen.evaluation import classifier_metrics
from ssl_gen.evaluation import images as sample_images
from ssl_gen.evaluation import plots
from ssl_gen.metrics_log import METRICS_FILE

EVAL_FILE = "eval.json"


def evaluate_run(run_dir, data_path=None):
    """Restores the latest checkpoint, judges it on the full test set and writes DIR/eval.json."""
    config, data, method, step = runs.restore(run_dir, data_path)
    report = {
        "test_error": classifier_metrics.test_error(method.classify, data.x_test, data.y_test),
        "num_labeled": config.num_labeled,
        "num_test_images": int(len(data.x_test)),
        "dataset": data.spec.name,
        "method": config.method,
        "step": step,
    }
    eval_dir = os.path.join(run_dir, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    sample_images.save_png(os.path.join(eval_dir, "samples_by_class.png"),
                           sample_images.class_grid(method, data.spec.num_classes))
    metrics_path = os.path.join(run_dir, METRICS_FILE)
    if os.path.exists(metrics_path):
        plots.plot_test_error([metrics_path], os.path.join(eval_dir, "test_error_curve.png"),
                              labels=[os.path.basename(os.path.normpath(run_dir))])
    path = os.path.join(run_dir, EVAL_FILE)
    with open(path + ".tmp", "w") as file:
        json.dump(report, file, indent=2)
    os.replace(path + ".tmp", path)
    return report
