"""Export a run's latest checkpoint as a SavedModel with `classify` and `generate` signatures.

python experiments/export.py --output_dir=runs/mnist100 --export_dir=exported/mnist100
"""

import json
import os

import numpy as np
from absl import app, flags

from ssl_gen import data as data_lib
from ssl_gen import export, runs
from ssl_gen.evaluation import classifier_metrics

flags.DEFINE_string("output_dir", None, "Run directory written by experiments/train.py.")
flags.DEFINE_string("export_dir", None, "Where to write the SavedModel.")
flags.DEFINE_string("data_path", None, "Override the run's data source with this .npz.")
flags.mark_flags_as_required(["output_dir", "export_dir"])


def main(argv):
    del argv
    values = flags.FLAGS
    config, data, method, step = runs.restore(values.output_dir, values.data_path)
    test_error = classifier_metrics.test_error(method.classify, data.x_test, data.y_test)
    labeled_indices = np.load(os.path.join(values.output_dir, data_lib.SPLIT_FILE))
    metadata = {"dataset": data.spec.name, "data_path": config.data_path,
                "image_shape": list(data.spec.image_shape),
                "num_classes": data.spec.num_classes, "num_labeled": config.num_labeled,
                "method": config.method, "step": step, "test_error": test_error,
                "labeled_indices": labeled_indices.tolist()}
    export.export(method, data.spec, values.export_dir, metadata)
    print(json.dumps({key: value for key, value in metadata.items() if key != "labeled_indices"}, indent=2))


if __name__ == "__main__":
    app.run(main)
