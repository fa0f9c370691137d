"""The one place that converts between stored pixels and the library's float range.

Inside ssl_gen images are float32 in [-1, 1]; on disk, in PNGs and at the export boundary they are
uint8 in [0, 255] or float in [0, 1].
"""

import numpy as np
import tensorflow as tf


def to_model_range(images_uint8):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(images_uint8, tf.float32) / 127.5 - 1.0


def unit_to_model_range(images_unit):
    """float [0, 1] -> float32 [-1, 1]."""
    return tf.cast(images_unit, tf.float32) * 2.0 - 1.0


def model_to_unit_range(images):
    """float [-1, 1] -> float32 [0, 1], clipped."""
    return tf.clip_by_value((tf.cast(images, tf.float32) + 1.0) / 2.0, 0.0, 1.0)


def model_to_uint8(images):
    """float [-1, 1] -> uint8 [0, 255], rounded."""
    return tf.cast(tf.round(model_to_unit_range(images) * 255.0), tf.uint8)


def unit_float_to_uint8(images):
    """numpy float in [0, 1] -> numpy uint8, for sources that store floats."""
    return np.round(np.asarray(images, np.float64) * 255.0).astype(np.uint8)
