"""Image augmentation inside the train step (images in [-1, 1], [B, H, W, C]).

Randomness is stateless: each call takes an explicit int32 seed pair, so a step is reproducible and every
replica can draw its own (seed = [step, replica]). FixMatch's weak view is a random shift; its strong view
adds a larger shift and cutout (google-research/fixmatch `augment` / `cutout`; RandAugment's colour ops do
not apply to one-channel digits).
"""

import tensorflow as tf


def _fold(seed, salt):
    return tf.stack([seed[0], seed[1] * 7 + salt])


def random_shift(images, max_shift, seed):
    """Moves each image by up to `max_shift` pixels in each direction; the border is filled with -1."""
    if max_shift == 0:
        return images
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift], [0, 0]],
                    constant_values=-1.0)
    offsets = tf.random.stateless_uniform([shape[0], 2], seed=seed, minval=0, maxval=2 * max_shift + 1,
                                          dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(height)[None, :]
    columns = offsets[:, 1:] + tf.range(width)[None, :]
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def cutout(images, size, seed):
    """Sets one `size`×`size` square per image (centre anywhere, clipped at the border) to 0, mid-grey."""
    shape = tf.shape(images)
    centres = tf.random.stateless_uniform([shape[0], 2], seed=seed, minval=0,
                                          maxval=tf.reduce_min(shape[1:3]), dtype=tf.int32)
    rows = tf.range(shape[1])[None, :] - centres[:, :1]
    columns = tf.range(shape[2])[None, :] - centres[:, 1:]
    inside_rows = tf.abs(2 * rows + 1) <= size
    inside_columns = tf.abs(2 * columns + 1) <= size
    mask = tf.logical_and(inside_rows[:, :, None], inside_columns[:, None, :])[..., None]
    return tf.where(mask, tf.zeros_like(images), images)


def weak(images, seed, max_shift=2):
    return random_shift(images, max_shift, seed)


def strong(images, seed, max_shift=4, cutout_size=12):
    return cutout(random_shift(images, max_shift, _fold(seed, 1)), cutout_size, _fold(seed, 2))
