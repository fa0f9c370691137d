"""Sample grids as PNG: one row per class."""

import numpy as np
import tensorflow as tf

from ssl_gen.data import images as image_conversion
from ssl_gen.evaluation import generator_metrics


def class_grid(method, num_classes, per_class=10, seed=0):
    """uint8 [rows·H, cols·W, C] grid of G(z, y), row y holding `per_class` samples of class y."""
    images, _ = generator_metrics.generate_per_class(method, num_classes, per_class, seed)
    return tile(image_conversion.model_to_uint8(images).numpy(), num_classes, per_class)


def real_class_grid(images_uint8, labels, num_classes, per_class=10, seed=0):
    """uint8 grid of real images laid out as `class_grid`: row y holds `per_class` random images of
    class y (black where a class has fewer), to show beside a G's grid."""
    rng = np.random.default_rng(seed)
    blank = np.zeros_like(images_uint8[:1])
    rows = []
    for k in range(num_classes):
        members = np.flatnonzero(np.asarray(labels) == k)
        chosen = rng.choice(members, min(per_class, len(members)), replace=False)
        rows.append(np.concatenate([images_uint8[chosen]] + [blank] * (per_class - len(chosen))))
    return tile(np.concatenate(rows), num_classes, per_class)


def side_by_side(grids, gap=4):
    """Grids of one height next to each other, `gap` white columns between them.

    Raises:
      ValueError: naming the heights and channels received if the grids differ in either.
    """
    shapes = [(grid.shape[0], grid.shape[2]) for grid in grids]
    if len(set(shapes)) != 1:
        raise ValueError(f"grids need one height and channel count to stand side by side; received "
                         f"(height, channels) {shapes}")
    height, channels = shapes[0]
    spacer = np.full((height, gap, channels), 255, np.uint8)
    panels = [part for grid in grids for part in (spacer, grid)][1:]
    return np.concatenate(panels, axis=1)


def tile(images, rows, cols):
    """[rows·cols, H, W, C] -> [rows·H, cols·W, C]."""
    _, height, width, channels = images.shape
    grid = images.reshape(rows, cols, height, width, channels).transpose(0, 2, 1, 3, 4)
    return grid.reshape(rows * height, cols * width, channels)


def save_png(path, image_uint8):
    tf.io.write_file(path, tf.io.encode_png(image_uint8))


def read_png(path):
    return tf.io.decode_png(tf.io.read_file(path)).numpy()


def interpolation_strip(method, num_classes, steps=10, seed=0):
    """Row y: G(z, y) along the line between two latents (the same two for every class)."""
    ends = method.sample_latents(2, seed)
    trailing = (1,) * (len(ends.shape) - 1)  # Latents may be [count, d] or [count, candidates, d].
    weights = tf.reshape(tf.linspace(0.0, 1.0, steps), (-1,) + trailing)
    line = (1.0 - weights) * ends[0] + weights * ends[1]
    latents = tf.tile(line, (num_classes,) + trailing)
    labels = np.repeat(np.arange(num_classes), steps).astype(np.int32)
    images = method.generate(tf.constant(labels), latents)
    return tile(image_conversion.model_to_uint8(images).numpy(), num_classes, steps)


def nearest_neighbour_panel(generated_uint8, pools):
    """Row i: a generated image, then its nearest images (L2 in pixel space) from each (pool, count)
    in `pools`. With the labeled images as the first pool, a generator that copied them would show
    exact matches in column 2."""
    flat = generated_uint8.reshape(len(generated_uint8), -1).astype(np.float32)
    columns = [generated_uint8[:, None]]
    for pool, count in pools:
        pool_flat = pool.reshape(len(pool), -1).astype(np.float32)
        squared = (np.sum(flat ** 2, 1)[:, None] + np.sum(pool_flat ** 2, 1)[None, :]
                   - 2.0 * flat @ pool_flat.T)
        columns.append(pool[np.argsort(squared, axis=1)[:, :count]])
    panel = np.concatenate(columns, axis=1)  # [N, 1 + Σ counts, H, W, C]
    return tile(panel.reshape((-1,) + generated_uint8.shape[1:]), len(generated_uint8), panel.shape[1])
