"""Image augmentation inside the train step (images in [-1, 1], [B, H, W, C]).

Randomness is stateless: each call takes an explicit int32 seed pair, so a step is reproducible and every
replica can draw its own (seed = [step, replica]). FixMatch's weak view is a random shift; its strong view
adds a larger shift and cutout (google-research/fixmatch `augment` / `cutout`; RandAugment's colour ops do
not apply to one-channel digits).
"""

import numpy as np
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


def affine_transforms(angles, scales, height, width):
    """ImageProjectiveTransformV3 rows that rotate by `angles` (radians) and scale by `scales` about the
    image centre. The op maps each output pixel (x = column, y = row) to the input point it samples, so
    the rows hold the inverse map: input = centre + R(−θ)/s · (output − centre)."""
    cos, sin = tf.cos(angles) / scales, tf.sin(angles) / scales
    centre_x = (tf.cast(width, tf.float32) - 1.0) / 2.0
    centre_y = (tf.cast(height, tf.float32) - 1.0) / 2.0
    zeros = tf.zeros_like(angles)
    return tf.stack([cos, sin, centre_x - cos * centre_x - sin * centre_y,
                     -sin, cos, centre_y + sin * centre_x - cos * centre_y, zeros, zeros], axis=1)


def random_affine(images, max_rotation_degrees, max_scale, seed):
    """Rotates each image by up to ±`max_rotation_degrees` and scales it by a factor in
    [1 − max_scale, 1 + max_scale], about the centre, bilinearly; the uncovered border is filled with -1.

    Shifts alone leave C two poses per class at MNIST-20; small rotations and size changes are the
    other variations of handwriting (as in the elastic/affine distortions of Simard et al., 2003).
    """
    if max_rotation_degrees == 0 and max_scale == 0:
        return images
    shape = tf.shape(images)
    draws = tf.random.stateless_uniform([shape[0], 2], seed=seed, minval=-1.0, maxval=1.0)
    angles = draws[:, 0] * np.radians(max_rotation_degrees)
    scales = 1.0 + draws[:, 1] * max_scale
    return apply_transforms(images, affine_transforms(angles, scales, shape[1], shape[2]))


def _gaussian_taps(sigma):
    offsets = np.arange(-int(np.ceil(3 * sigma)), int(np.ceil(3 * sigma)) + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def warp(images, displacement):
    """Samples each image bilinearly at (row + dy, column + dx), `displacement` [B, H, W, 2] holding
    (dy, dx) per output pixel; points outside the frame read the background, -1."""
    shape = tf.shape(images)
    height, width, channels = shape[1], shape[2], shape[3]
    # A one-pixel background frame, with coordinates clipped into it, stands for everything outside.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=-1.0)
    padded_width = width + 2
    flat = tf.reshape(padded, [shape[0], -1, channels])
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None] + 1.0 + displacement[..., 0]
    columns = tf.cast(tf.range(width), tf.float32)[None, None, :] + 1.0 + displacement[..., 1]
    rows = tf.clip_by_value(rows, 0.0, tf.cast(height + 1, tf.float32))
    columns = tf.clip_by_value(columns, 0.0, tf.cast(width + 1, tf.float32))
    top, left = tf.floor(rows), tf.floor(columns)
    row_weight, column_weight = (rows - top)[..., None], (columns - left)[..., None]
    top, left = tf.cast(top, tf.int32), tf.cast(left, tf.int32)
    bottom, right = tf.minimum(top + 1, height + 1), tf.minimum(left + 1, width + 1)

    def read(row, column):
        index = tf.reshape(row * padded_width + column, [shape[0], -1])
        return tf.reshape(tf.gather(flat, index, axis=1, batch_dims=1), shape)

    upper = read(top, left) * (1.0 - column_weight) + read(top, right) * column_weight
    lower = read(bottom, left) * (1.0 - column_weight) + read(bottom, right) * column_weight
    return upper * (1.0 - row_weight) + lower * row_weight


def random_elastic(images, alpha, seed, sigma=4.0):
    """Simard et al. (2003)'s elastic distortion: a uniform random displacement field per image, smoothed
    by a Gaussian of `sigma` px and scaled by `alpha` px, through which the image is resampled. Rotation
    and scale move a digit as a whole; this bends its strokes locally, a variation of handwriting that
    ten labeled images per class may not show. Simard's MNIST values: sigma 4, alpha 34.
    """
    if alpha == 0:
        return images
    shape = tf.shape(images)
    noise = tf.random.stateless_uniform([shape[0], shape[1], shape[2], 2], seed=seed, minval=-1.0, maxval=1.0)
    taps = _gaussian_taps(sigma)
    along_rows = tf.constant(np.tile(taps[:, None, None, None], [1, 1, 2, 1]))
    along_columns = tf.constant(np.tile(taps[None, :, None, None], [1, 1, 2, 1]))
    smooth = tf.nn.depthwise_conv2d(noise, along_rows, [1, 1, 1, 1], "SAME")
    smooth = tf.nn.depthwise_conv2d(smooth, along_columns, [1, 1, 1, 1], "SAME")
    return warp(images, alpha * smooth)


def apply_transforms(images, transforms):
    """Resamples each image bilinearly through its row of `transforms`; uncovered pixels become -1."""
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=-1.0,
        interpolation="BILINEAR", fill_mode="CONSTANT")


def cutout(images, size, seed, fill=0.0):
    """Sets one `size`×`size` square per image (centre anywhere, clipped at the border) to `fill`
    (FixMatch's mid-grey 0 by default; -1 is the digits' background, i.e. erased strokes)."""
    shape = tf.shape(images)
    centres = tf.random.stateless_uniform([shape[0], 2], seed=seed, minval=0,
                                          maxval=tf.reduce_min(shape[1:3]), dtype=tf.int32)
    rows = tf.range(shape[1])[None, :] - centres[:, :1]
    columns = tf.range(shape[2])[None, :] - centres[:, 1:]
    inside_rows = tf.abs(2 * rows + 1) <= size
    inside_columns = tf.abs(2 * columns + 1) <= size
    mask = tf.logical_and(inside_rows[:, :, None], inside_columns[:, None, :])[..., None]
    return tf.where(mask, tf.fill(tf.shape(images), tf.cast(fill, images.dtype)), images)


def weak(images, seed, max_shift=2):
    return random_shift(images, max_shift, seed)


def strong(images, seed, max_shift=4, cutout_size=12):
    return cutout(random_shift(images, max_shift, _fold(seed, 1)), cutout_size, _fold(seed, 2))
