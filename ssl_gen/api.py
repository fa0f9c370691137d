"""The Python API: train or resume a run, load a run or an export, and use it with the export's contract.

    model = ssl_gen.fit(output_dir="runs/mnist100", data_path="mnist.npz", num_labeled=100)
    probabilities = model.classify(images)        # [N, H, W, C] in [0, 1] (or uint8) -> [N, K]
    samples = model.generate([0, 1, 2], seed=7)   # -> [3, H, W, C] in [0, 1]
    model = ssl_gen.load("runs/mnist100")         # or an export directory
"""

import json
import os

import numpy as np
import tensorflow as tf

from ssl_gen import export
from ssl_gen.training import presets, runs, train
from ssl_gen.training import config as config_lib
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError


def fit(output_dir, preset="", **settings):
    """Trains (or resumes) the run in `output_dir` and returns it as a `Model`.

    Args:
      output_dir: the run directory; a rerun with the same settings resumes it.
      preset: a named configuration (ssl_gen/training/presets.py); `settings` override its values.
      **settings: any setting of the run, the networks or the method (the flags of experiments/train.py),
        e.g. data_path="mnist.npz", num_labeled=100, method="improved_gan", augment_shift=2.
    Returns:
      The trained `Model`.
    Raises:
      ssl_gen.errors.Stopped: Ctrl-C (or SIGTERM) stopped training after saving a checkpoint; calling
        `fit` again resumes, `load(output_dir)` gives the model as it stands.
    """
    values = {**(presets.get(preset) if preset else {}), **settings}
    train.run(config_lib.build(output_dir=output_dir, preset=preset, **values))
    return load(output_dir)


def load(directory):
    """A `Model` from a run directory (its newest readable checkpoint) or an export directory."""
    if os.path.exists(os.path.join(directory, export.METADATA_PATH)):
        return Model(_ExportedModel(directory))
    _, data, method, _ = runs.restore(directory)
    return Model(_RunModel(method, data.spec.image_shape, data.spec.num_classes))


class Model:
    """A trained classifier P(y|x) and generator P(x|y), images in [0, 1] at both ends."""

    def __init__(self, backend):
        self._backend = backend
        self.image_shape = tuple(backend.image_shape)
        self.num_classes = int(backend.num_classes)

    def classify(self, images):
        """Class probabilities [N, K] of images [N, H, W, C], float in [0, 1] or uint8 in 0..255."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != self.image_shape:
            raise ConfigError(f"classify takes images of shape [N, {', '.join(map(str, self.image_shape))}]; "
                              f"received shape {images.shape}")
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        elif not np.issubdtype(images.dtype, np.floating):
            raise ConfigError(f"classify takes float images in [0, 1] or uint8 images; received {images.dtype}")
        elif images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ConfigError(f"classify takes float images in [0, 1]; received values in [{images.min()}, "
                              f"{images.max()}] (divide 0..255 values by 255)")
        return self._backend.classify(images.astype(np.float32))

    def generate(self, labels, seed=0):
        """Images [N, H, W, C] in [0, 1] drawn by G for `labels` (ints 0..K-1), deterministic in `seed`."""
        labels = np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ConfigError(f"generate takes a list of integer labels; received {labels.dtype} of shape "
                              f"{labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ConfigError(f"labels must be class indices 0..{self.num_classes - 1}; received "
                              f"{sorted(set(labels.tolist()) - set(range(self.num_classes)))}")
        return self._backend.generate(labels.astype(np.int32), int(seed))


class _RunModel:
    def __init__(self, method, image_shape, num_classes):
        self._method, self.image_shape, self.num_classes = method, image_shape, num_classes

    def classify(self, images_unit):
        logits = self._method.classify(image_conversion.unit_to_model_range(images_unit))
        return tf.nn.softmax(logits).numpy()

    def generate(self, labels, seed):
        latents = self._method.sample_latents(len(labels), seed)
        return image_conversion.model_to_unit_range(self._method.generate(tf.constant(labels), latents)).numpy()


class _ExportedModel:
    def __init__(self, export_dir):
        self._signatures = tf.saved_model.load(export_dir).signatures
        with open(os.path.join(export_dir, export.METADATA_PATH)) as file:
            metadata = json.load(file)
        self.image_shape, self.num_classes = metadata["image_shape"], metadata["num_classes"]

    def classify(self, images_unit):
        return self._signatures["classify"](images=tf.constant(images_unit))["probabilities"].numpy()

    def generate(self, labels, seed):
        return self._signatures["generate"](labels=tf.constant(labels), seed=tf.constant(seed))["images"].numpy()
