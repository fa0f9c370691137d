"""SavedModel export with `classify` and `generate` signatures that load with TensorFlow alone.

At this boundary images are float32 in [0, 1] (what a user has), not the library's [-1, 1].
"""

import json
import os

import tensorflow as tf

from ssl_gen.data import images as image_conversion

METADATA_FILE = "metadata.json"


class _Serving(tf.Module):
    def __init__(self, method, image_shape):
        super().__init__()
        self._method = method
        # Keras 3 models are not followed by tf.saved_model's tracking; their variables are.
        self.saved_variables = [weight.value for item in method.checkpoint_items().values()
                                if hasattr(item, "weights") and hasattr(item, "trainable_weights")
                                for weight in item.weights]
        image_spec = tf.TensorSpec([None, *image_shape], tf.float32, name="images")
        self.classify = tf.function(self._classify, input_signature=[image_spec])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([None], tf.int32, name="labels"), tf.TensorSpec([], tf.int32, name="seed")])

    def _classify(self, images):
        logits = self._method.classify(image_conversion.unit_to_model_range(images))
        return {"probabilities": tf.nn.softmax(logits), "labels": tf.argmax(logits, axis=1, output_type=tf.int64)}

    def _generate(self, labels, seed):
        latents = self._method.sample_latents(tf.shape(labels)[0], seed)
        return {"images": image_conversion.model_to_unit_range(self._method.generate(labels, latents))}


def export(method, spec, export_dir, metadata):
    """Writes the SavedModel and `assets/metadata.json`; returns the export directory."""
    module = _Serving(method, spec.image_shape)
    tf.saved_model.save(module, export_dir, signatures={"classify": module.classify,
                                                        "generate": module.generate})
    os.makedirs(os.path.join(export_dir, "assets"), exist_ok=True)
    with open(os.path.join(export_dir, "assets", METADATA_FILE), "w") as file:
        json.dump(metadata, file, indent=2)
    return export_dir
