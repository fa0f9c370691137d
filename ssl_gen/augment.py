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


def _draw_segments(images, centre, angle, half_length, drawn):
    """Lays one ~2 px pen stroke per image over `images` with max: from `centre` (x, y) ± `half_length`
    along `angle`, on the images where `drawn` is 1. White (1) ink, anti-aliased like the digits."""
    shape = tf.shape(images)
    height, width = shape[1], shape[2]
    direction = tf.stack([tf.cos(angle), tf.sin(angle)], axis=1) * half_length[:, None]
    start = centre - direction
    columns = tf.cast(tf.range(width), tf.float32)
    rows = tf.cast(tf.range(height), tf.float32)
    # Each pixel's offset from the stroke's start, [count, height, width, 2].
    pixel = tf.stack(tf.meshgrid(columns, rows), axis=-1)[None] - start[:, None, None, :]
    segment = 2.0 * direction[:, None, None, :]
    along = tf.clip_by_value(tf.reduce_sum(pixel * segment, -1) / tf.reduce_sum(segment * segment, -1), 0.0, 1.0)
    distance = tf.norm(pixel - along[..., None] * segment, axis=-1)
    # Full ink within 0.5 px of the line, fading to none at 1.5 px.
    ink = tf.clip_by_value(1.5 - distance, 0.0, 1.0)
    stroke = (2.0 * ink * drawn[:, None, None] - 1.0)[..., None]
    return tf.maximum(images, tf.cast(stroke, images.dtype))


def random_stroke(images, probability, seed, min_length=6.0, max_length=14.0):
    """Draws, with `probability` per image, one straight pen stroke (about 2 px wide, as MNIST's pen) at a
    random angle, `min_length`–`max_length` pixels long, centred in the middle half of the image.

    A digit's class survives a stray stroke; C should learn that too. With at most 2 labels per class and
    none of them a crossed 7, C gave the whole cluster of crossed 7s (a bar through the stem) to 2 or 3
    on every MNIST-20 seed (docs/RESULTS.md): nothing told it that an extra bar leaves a 7 a 7.
    """
    shape = tf.shape(images)
    draws = tf.random.stateless_uniform([shape[0], 5], seed=seed)
    size = tf.cast(tf.stack([shape[2], shape[1]]), tf.float32)
    centre = size / 4.0 + draws[:, 0:2] * size / 2.0  # (x, y)
    half_length = 0.5 * (min_length + (max_length - min_length) * draws[:, 3])
    drawn = tf.cast(draws[:, 4] < probability, tf.float32)
    return _draw_segments(images, centre, np.pi * draws[:, 2], half_length, drawn)


def _ink_extent(images):
    """Per image: the ink mask [B, H, W] (pixels > 0), whether it has any ink, and its top and bottom
    ink rows; an image without ink counts as the whole frame."""
    ink = tf.cast(images[..., 0] > 0.0, tf.float32)  # [B, H, W]
    height = tf.shape(ink)[1]
    rows_with_ink = tf.reduce_max(ink, axis=2)  # [B, H]
    any_ink = tf.reduce_max(rows_with_ink, axis=1) > 0
    top = tf.where(any_ink, tf.argmax(rows_with_ink, axis=1, output_type=tf.int32), 0)
    bottom = tf.where(any_ink, height - 1 - tf.argmax(tf.reverse(rows_with_ink, [1]), axis=1,
                                                       output_type=tf.int32), height - 1)
    return ink, any_ink, top, bottom


def _row_at(ink, top, bottom, height_fraction):
    """The row y at `height_fraction` (0 top, 1 bottom) of the ink's extent, and that row's ink [B, W]."""
    y = tf.cast(top, tf.float32) + height_fraction * tf.cast(bottom - top, tf.float32)
    return y, tf.gather(ink, tf.cast(tf.round(y), tf.int32), axis=1, batch_dims=1)


def _ink_row(images, height_fraction):
    """Per image: `_ink_extent`'s mask and whether there is ink, and `_row_at`'s row y and its ink."""
    ink, any_ink, top, bottom = _ink_extent(images)
    y, row = _row_at(ink, top, bottom, height_fraction)
    return ink, any_ink, y, row


def _ink_runs(row):
    """Number of separate runs of ink in each row [B, W]: 1 on a stem, 2 across a 0's or an 8's loop."""
    starts = tf.concat([row[:, :1], tf.nn.relu(row[:, 1:] - row[:, :-1])], axis=1)
    return tf.reduce_sum(starts, axis=1)


def _point_in_ink(ink, any_ink, y, row):
    """Per image, the point (x, y) on `_ink_row`'s row y, x the mean ink column of that row; a row
    without ink takes the digit's mean column, and an image without ink counts as the whole frame."""
    width = tf.shape(ink)[2]
    columns = tf.cast(tf.range(width), tf.float32)
    column_ink = tf.reduce_sum(ink, axis=1)  # [B, W]
    row_centre = tf.reduce_sum(row * columns, -1) / tf.maximum(tf.reduce_sum(row, -1), 1.0)
    digit_centre = tf.where(any_ink, tf.reduce_sum(column_ink * columns, -1)
                            / tf.maximum(tf.reduce_sum(column_ink, -1), 1.0),
                            (tf.cast(width, tf.float32) - 1.0) / 2.0)
    x = tf.where(tf.reduce_sum(row, -1) > 0, row_centre, digit_centre)
    return tf.stack([x, y], axis=1)


def random_crossbar(images, probability, seed, min_length=6.0, max_length=10.0, max_angle_degrees=20.0,
                    stem_only=False, max_stem_width=0):
    """Draws, with `probability` per image, one short, nearly horizontal bar (±`max_angle_degrees`,
    `min_length`–`max_length` px) through the digit's ink at 35–65 % of its height, centred on the mean
    ink column of that row: the crossbar some writers put through a 7's stem (or a 2, a Z, a 0).

    No labeled 7 of MNIST-100 seeds 3 and 5 is crossed, and C gave the test set's crossed 7s to 2
    (docs/RESULTS.md). `random_stroke` taught that a stray stroke anywhere leaves the class, which is
    false for a 1 (a bar at its top makes a 7, at its side a 4); a bar *through* the middle of the ink
    keeps a 1 a crossed 1 and a 7 a crossed 7.

    `stem_only` draws only where the chosen row's ink is one run: centred on the mean column, a bar
    across a 0's two sides closes its hole into a θ, and with it C called seed 1's narrow-waisted 8s 0.
    `max_stem_width` > 0 also skips a run wider than that many pixels: the flat base of a 9's loop or a
    3's cusp is one run too, and a bar along it opens the loop (docs/RESULTS.md).
    """
    images = tf.convert_to_tensor(images)
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 4], seed=seed)
    height_fraction = 0.35 + 0.3 * draws[:, 0]
    ink, any_ink, y, row = _ink_row(images, height_fraction)
    centre = _point_in_ink(ink, any_ink, y, row)
    angle = (2.0 * draws[:, 1] - 1.0) * np.radians(max_angle_degrees)
    half_length = 0.5 * (min_length + (max_length - min_length) * draws[:, 2])
    drawn = tf.cast(draws[:, 3] < probability, tf.float32)
    if stem_only:
        drawn *= tf.cast(_is_narrow_stem(row, max_stem_width or tf.float32.max), tf.float32)
    return _draw_segments(images, centre, angle, half_length, drawn)


def _is_narrow_stem(row, max_width):
    return tf.equal(_ink_runs(row), 1.0) & (tf.reduce_sum(row, axis=1) <= max_width)


def random_foot(images, probability, seed, drawn_on=None, min_length=6.0, max_length=12.0,
                max_angle_degrees=10.0, max_stem_width=5):
    """Draws, with `probability` per image (and only where `drawn_on` [B] is true), a short, nearly
    horizontal bar (±`max_angle_degrees`, `min_length`–`max_length` px) across the bottom end of the ink,
    its centre up to half its length either side of the stem: the foot some writers put under a 1.

    It is drawn only where the lowest ink row and the row at 90 % of the ink's height each hold one run
    at most `max_stem_width` px wide, i.e. a stem ends there: not under a 2's base (wide) nor a 0's or an
    8's loop (two runs at 90 %). On MNIST-100 no labeled 1 of seeds 1–3 has a foot, and C gives 115–118 of
    the 120 footed 1s among the training images, and the same eleven test 1s, to 2 (docs/RESULTS.md).
    """
    images = tf.convert_to_tensor(images)
    count = tf.shape(images)[0]
    draws = tf.random.stateless_uniform([count, 4], seed=seed)
    # One pass over the ink for both rows: this runs on every labeled batch.
    ink, any_ink, top, bottom = _ink_extent(images)
    bottom_y, bottom_row = _row_at(ink, top, bottom, 1.0)
    _, lower_row = _row_at(ink, top, bottom, 0.9)
    stem_end = _point_in_ink(ink, any_ink, bottom_y, bottom_row)
    half_length = 0.5 * (min_length + (max_length - min_length) * draws[:, 2])
    # Half a pixel down: the foot meets the stem's last row instead of crossing it.
    centre = stem_end + tf.stack([(draws[:, 0] - 0.5) * half_length, tf.fill([count], 0.5)], axis=1)
    angle = (2.0 * draws[:, 1] - 1.0) * np.radians(max_angle_degrees)
    drawn = (draws[:, 3] < probability) & any_ink & _is_narrow_stem(bottom_row, max_stem_width) \
        & _is_narrow_stem(lower_row, max_stem_width)
    if drawn_on is not None:
        drawn &= tf.cast(drawn_on, tf.bool)
    return _draw_segments(images, centre, angle, half_length, tf.cast(drawn, tf.float32))


def weak(images, seed, max_shift=2):
    return random_shift(images, max_shift, seed)


def strong(images, seed, max_shift=4, cutout_size=12):
    return cutout(random_shift(images, max_shift, _fold(seed, 1)), cutout_size, _fold(seed, 2))
