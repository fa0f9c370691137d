"""Sample grids as PNG: one row per class."""

import numpy as np
import tensorflow as tf

from ssl_gen.data import images as image_conversion


def class_grid(method, num_classes, per_class=10, seed=0):
    """uint8 [rows·H, cols·W, C] grid of G(z, y), row y holding `per_class` samples of class y."""
    labels = np.repeat(np.arange(num_classes), per_class).astype(np.int32)
    images = method.generate(tf.constant(labels), method.sample_latents(len(labels), seed))
    return tile(image_conversion.model_to_uint8(images).numpy(), num_classes, per_class)


def tile(images, rows, cols):
    """[rows·cols, H, W, C] -> [rows·H, cols·W, C]."""
    _, height, width, channels = images.shape
    grid = images.reshape(rows, cols, height, width, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * height, cols * width, channels)


def save_png(path, image_uint8):
    tf.io.write_file(path, tf.io.encode_png(image_uint8))
