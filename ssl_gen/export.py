"""SavedModel export with `classify` and `generate` signatures that load with TensorFlow alone.

At this boundary images are float32 in [0, 1] (what a user has), not the library's [-1, 1].
"""

import json
import os

import numpy as np
import tensorflow as tf

from ssl_gen import sampling
from ssl_gen.training import runs
from ssl_gen.data import SPLIT_FILE, load_validation
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError
from ssl_gen.evaluation import classifier_metrics

METADATA_FILE = "metadata.json"
METADATA_PATH = os.path.join("assets", METADATA_FILE)


class _Serving(tf.Module):
    def __init__(self, method, image_shape, num_classes):
        super().__init__()
        self._method = method
        self._num_classes = num_classes
        # Keras 3 models are not followed by tf.saved_model's tracking; their variables are.
        self.saved_variables = [weight.value for item in method.checkpoint_items().values()
                                if hasattr(item, "weights") and hasattr(item, "trainable_weights")
                                for weight in item.weights]
        self.classify = tf.function(self._classify, input_signature=[
            tf.TensorSpec([None, *image_shape], tf.float32, name="images")])
        self.classify_uint8 = tf.function(self._classify_uint8, input_signature=[
            tf.TensorSpec([None, *image_shape], tf.uint8, name="images")])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([None], tf.int32, name="labels"), tf.TensorSpec([], tf.int32, name="seed")])
        # Two lower-level signatures let evaluation judge an export exactly as it judges a run.
        self.sample_latents = tf.function(self._sample_latents, input_signature=[
            tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int32, name="seed")])
        self.generate_from_latents = tf.function(self._generate_from_latents, input_signature=[
            tf.TensorSpec([None], tf.int32, name="labels"),
            tf.TensorSpec([None, *method.sample_latents(1, 0).shape[1:]], tf.float32, name="latents")])

    def _classify(self, images):
        # Images in 0..255 as floats would be read as white and give confident, wrong labels.
        checks = [tf.debugging.assert_greater_equal(images, 0.0, message="classify: images must be float32 in "
                                                    "[0, 1] (classify_uint8 takes uint8); received values below 0"),
                  tf.debugging.assert_less_equal(images, 1.0, message="classify: images must be float32 in [0, 1] "
                                                 "(divide 0..255 values by 255, or use classify_uint8); received "
                                                 "values above 1")]
        with tf.control_dependencies(checks):
            logits = self._method.classify(image_conversion.unit_to_model_range(images))
        return {"probabilities": tf.nn.softmax(logits), "labels": tf.argmax(logits, axis=1, output_type=tf.int64)}

    def _classify_uint8(self, images):
        return self._classify(tf.cast(images, tf.float32) / 255.0)

    def _checked_labels(self, labels):
        message = f"labels must be class indices 0..{self._num_classes - 1}"
        checks = [tf.debugging.assert_non_negative(labels, message=message),
                  tf.debugging.assert_less(labels, self._num_classes, message=message)]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def _generate(self, labels, seed):
        return self._generate_from_latents(labels, self._method.sample_latents(tf.shape(labels)[0], seed))

    def _sample_latents(self, count, seed):
        return {"latents": self._method.sample_latents(count, seed)}

    def _generate_from_latents(self, labels, latents):
        images = self._method.generate(self._checked_labels(labels), latents)
        return {"images": image_conversion.model_to_unit_range(images)}


SIGNATURES = ("classify", "classify_uint8", "generate", "sample_latents", "generate_from_latents")


def export(method, spec, export_dir, metadata, overwrite=False):
    """Writes the SavedModel and `assets/metadata.json`; returns the export directory.

    Args:
      method: the trained method (anything with classify / generate / sample_latents).
      spec: the data's `DataSpec`.
      export_dir: the directory to write; an existing one is refused unless `overwrite`.
      metadata: a JSON-able dict saved as assets/metadata.json.
      overwrite: replace what an existing `export_dir` holds.
    Returns:
      `export_dir`.
    """
    _check_target(export_dir, overwrite)
    module = _Serving(method, spec.image_shape, spec.num_classes)
    signatures = {name: getattr(module, name) for name in SIGNATURES}
    tf.saved_model.save(module, export_dir, signatures=signatures)
    os.makedirs(os.path.join(export_dir, "assets"), exist_ok=True)
    metadata = {"image_shape": list(spec.image_shape), "num_classes": spec.num_classes, **metadata}
    with open(os.path.join(export_dir, METADATA_PATH), "w") as file:
        json.dump(metadata, file, indent=2)
    return export_dir


def _check_target(export_dir, overwrite):
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise ConfigError(f"export_dir {export_dir!r} is a file, not a directory")
    if os.path.isdir(export_dir) and os.listdir(export_dir) and not overwrite:
        raise ConfigError(f"export_dir {export_dir!r} already holds files; choose a new directory or pass "
                          f"--overwrite")


def export_run(run_dir, export_dir, data_path=None, candidates=1, latent_scale=1.0, overwrite=False):
    """Exports a run's latest checkpoint with the metadata evaluation needs; returns the metadata.

    With candidates > 1, `generate` is the best-of-K sampler (ssl_gen.sampling): latents are
    [count, K, *latent_shape] and the classifier picks one image per row. With latent_scale < 1,
    `sample_latents` (hence `generate`) draws latents shrunk toward the prior's centre.
    """
    _check_target(export_dir, overwrite)
    config, data, method, step = runs.restore(run_dir, data_path)
    method = sampling.wrap(method, candidates, latent_scale)
    labeled_indices = np.load(os.path.join(run_dir, SPLIT_FILE))
    validation_indices = load_validation(run_dir)
    metadata = {"dataset": data.spec.name, "data_path": config.data_path,
                "image_shape": list(data.spec.image_shape),
                "num_classes": data.spec.num_classes, "num_labeled": config.num_labeled,
                "method": config.method, "step": step, "candidates": candidates,
                "latent_scale": latent_scale, "latent_center": method.latent_center,
                "labeled_indices": labeled_indices.tolist(),
                "validation_indices": validation_indices.tolist()}
    if len(validation_indices):
        metadata["validation_error"] = classifier_metrics.error_rate(
            method.classify, data.x_train[validation_indices], data.y_train[validation_indices])
    export(method, data.spec, export_dir, metadata, overwrite)
    return metadata


class SavedModelMethod:
    """An exported model seen through the method interface that evaluation uses (images in [-1, 1])."""

    def __init__(self, export_dir):
        self.model = tf.saved_model.load(export_dir)
        with open(os.path.join(export_dir, "assets", METADATA_FILE)) as file:
            self.metadata = json.load(file)
        self._signatures = self.model.signatures
        # None in exports written before the centre was recorded: their latents cannot be shrunk.
        self.latent_center = self.metadata.get("latent_center")

    def classify(self, images):
        probabilities = self._signatures["classify"](images=image_conversion.model_to_unit_range(images))
        return tf.math.log(probabilities["probabilities"] + 1e-12)

    def sample_latents(self, count, seed):
        return self._signatures["sample_latents"](count=tf.constant(count, tf.int32),
                                                  seed=tf.constant(seed, tf.int32))["latents"]

    def generate(self, labels, latents):
        images = self._signatures["generate_from_latents"](labels=tf.cast(labels, tf.int32),
                                                           latents=tf.cast(latents, tf.float32))["images"]
        return image_conversion.unit_to_model_range(images)
