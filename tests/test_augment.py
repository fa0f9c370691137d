"""FixMatch's views: shifts move content, cutout blanks one square, both are reproducible in the seed."""


import numpy as np
import tensorflow as tf

from ssl_gen import augment


def _dot_images(count=8, size=12):
    images = -np.ones((count, size, size, 1), np.float32)
    images[:, 6, 5, 0] = 1.0
    return tf.constant(images)


def test_shift_moves_the_content_within_the_limit_and_fills_the_border_with_background():
    images = _dot_images()
    shifted = augment.random_shift(images, 2, seed=tf.constant([3, 4])).numpy()
    assert shifted.shape == images.shape
    for image in shifted:
        rows, columns = np.nonzero(image[..., 0] > 0)
        assert len(rows) == 1 and abs(rows[0] - 6) <= 2 and abs(columns[0] - 5) <= 2
        assert set(np.unique(image)) <= {-1.0, 1.0}
    positions = {tuple(np.argwhere(image[..., 0] > 0)[0]) for image in shifted}
    assert len(positions) > 1, "every image got the same shift"


def test_views_are_reproducible_in_the_seed_and_differ_across_seeds():
    images = tf.random.stateless_uniform((6, 16, 16, 1), seed=[1, 2], minval=-1, maxval=1)
    first = augment.strong(images, tf.constant([5, 0])).numpy()
    np.testing.assert_array_equal(first, augment.strong(images, tf.constant([5, 0])).numpy())
    assert not np.array_equal(first, augment.strong(images, tf.constant([6, 0])).numpy())
    np.testing.assert_array_equal(augment.random_shift(images, 0, tf.constant([1, 1])).numpy(), images.numpy())


def test_cutout_blanks_one_square_of_the_given_size_at_most():
    images = tf.ones((16, 20, 20, 1))
    cut = augment.cutout(images, 6, tf.constant([7, 7])).numpy()[..., 0]
    for image in cut:
        rows, columns = np.nonzero(image == 0.0)
        assert 0 < len(rows) <= 36
        assert rows.max() - rows.min() < 6 and columns.max() - columns.min() < 6
        # A full square when it is away from the border.
        if rows.min() > 0 and columns.min() > 0 and rows.max() < 19 and columns.max() < 19:
            assert len(rows) == 36


def test_cutout_fills_with_the_value_asked_for():
    images = tf.ones((4, 12, 12, 1))
    cut = augment.cutout(images, 4, tf.constant([3, 1]), fill=-1.0).numpy()
    assert set(np.unique(cut)) == {-1.0, 1.0}
    np.testing.assert_array_equal(cut == -1.0, augment.cutout(images, 4, tf.constant([3, 1])).numpy() == 0.0)


def _dot(size, row, column):
    images = -np.ones((1, size, size, 1), np.float32)
    images[0, row, column, 0] = 1.0
    return tf.constant(images)


def _brightest(image):
    return tuple(np.unravel_index(np.argmax(image[..., 0]), image.shape[:2]))


def _transform(images, angle_degrees, scale):
    transforms = augment.affine_transforms(tf.constant([np.radians(angle_degrees)], tf.float32),
                                           tf.constant([scale], tf.float32), 11, 11)
    return augment.apply_transforms(images, transforms).numpy()[0]


def test_affine_rotates_and_scales_about_the_centre():
    # A dot 4 pixels right of the centre (5, 5) of an 11×11 image.
    dot = _dot(11, 5, 9)
    assert _brightest(_transform(dot, 0.0, 1.0)) == (5, 9)
    assert _brightest(_transform(dot, 90.0, 1.0)) == (9, 5)   # a quarter turn: to 4 below the centre
    assert _brightest(_transform(dot, -90.0, 1.0)) == (1, 5)
    assert _brightest(_transform(dot, 180.0, 1.0)) == (5, 1)
    assert _brightest(_transform(_dot(11, 5, 7), 0.0, 2.0)) == (5, 9)  # twice as far from the centre
    assert _brightest(_transform(_dot(11, 5, 5), 37.0, 1.3)) == (5, 5)  # the centre stays


def test_random_affine_stays_within_its_limits_and_fills_the_border_with_background():
    images = tf.repeat(_dot(21, 10, 16), 64, axis=0)  # radius 6 at angle 0
    moved = augment.random_affine(images, 20.0, 0.2, tf.constant([3, -1])).numpy()
    angles, radii = [], []
    for image in moved:
        row, column = _brightest(image)
        angles.append(np.degrees(np.arctan2(row - 10, column - 10)))
        radii.append(np.hypot(row - 10, column - 10))
        assert image[0, 0, 0] == -1.0 and image.max() <= 1.0
    # Integer pixel positions: a rounding margin of one pixel at radius 6 (~10 degrees).
    assert max(np.abs(angles)) <= 20.0 + 10.0 and min(radii) >= 6 * 0.8 - 1 and max(radii) <= 6 * 1.2 + 1
    assert np.std(angles) > 3.0 and np.std(radii) > 0.3, "every image got the same transform"
    assert np.count_nonzero(np.abs(angles) > 5.0) > 10, "rotations far below the limit"


def test_random_affine_is_the_identity_when_off_and_reproducible_in_the_seed():
    images = tf.random.stateless_uniform((4, 12, 12, 1), seed=[1, 2], minval=-1, maxval=1)
    np.testing.assert_array_equal(augment.random_affine(images, 0.0, 0.0, tf.constant([1, 1])).numpy(),
                                  images.numpy())
    first = augment.random_affine(images, 10.0, 0.1, tf.constant([4, -1])).numpy()
    np.testing.assert_array_equal(first, augment.random_affine(images, 10.0, 0.1, tf.constant([4, -1])).numpy())
    assert not np.array_equal(first, augment.random_affine(images, 10.0, 0.1, tf.constant([4, -2])).numpy())


def test_warp_by_a_constant_displacement_moves_the_image_and_fills_the_border_with_background():
    images = tf.random.stateless_uniform((2, 6, 7, 1), seed=[5, 6], minval=-1, maxval=1)
    one_right = np.zeros((2, 6, 7, 2), np.float32)
    one_right[..., 1] = 1.0  # each output pixel reads the pixel one column to its right
    moved = augment.warp(images, tf.constant(one_right)).numpy()
    np.testing.assert_allclose(moved[:, :, :-1], images.numpy()[:, :, 1:], atol=1e-6)
    np.testing.assert_array_equal(moved[:, :, -1], -1.0)
    half_down = np.zeros((2, 6, 7, 2), np.float32)
    half_down[..., 0] = 0.5
    between = augment.warp(images, tf.constant(half_down)).numpy()
    np.testing.assert_allclose(between[:, :-1], (images.numpy()[:, :-1] + images.numpy()[:, 1:]) / 2, atol=1e-6)
    np.testing.assert_allclose(between[:, -1], (images.numpy()[:, -1] - 1.0) / 2, atol=1e-6)


def _vertical_line(count, size=28, column=14):
    images = -np.ones((count, size, size, 1), np.float32)
    images[:, 4:24, column - 1:column + 1, 0] = 1.0
    return tf.constant(images)


def test_elastic_bends_a_line_smoothly_keeping_its_ink():
    lines = _vertical_line(16)
    bent = augment.random_elastic(lines, 34.0, tf.constant([7, 8])).numpy()[..., 0]
    assert bent.min() >= -1.0 - 1e-6 and bent.max() <= 1.0 + 1e-6
    ink = (bent + 1.0) / 2.0
    # 20 rows × 2 px of ink. Alpha 34 stretches or squeezes whole stretches of the line (these 16 lines:
    # 26–48 px of ink; over 64 lines and two seeds, 23–72); a small alpha keeps it within a few per cent.
    np.testing.assert_allclose(ink.sum(axis=(1, 2)), 40.0, rtol=0.5)
    gently_bent = augment.random_elastic(lines, 4.0, tf.constant([7, 8])).numpy()[..., 0]
    np.testing.assert_allclose(((gently_bent + 1.0) / 2.0).sum(axis=(1, 2)), 40.0, rtol=0.1)
    columns = np.arange(28)
    deviations, steps = [], []
    for image in ink:
        rows = np.nonzero(image.sum(axis=1) > 0.5)[0]
        centres = (image[rows] * columns).sum(axis=1) / image[rows].sum(axis=1)
        deviations.append(np.abs(centres - 13.5).max())
        steps.append(np.abs(np.diff(centres)).max())
    # A smoothed field moves whole stretches of the stroke; per-pixel noise would tear it apart.
    assert np.median(deviations) > 0.5, f"the line hardly moved: {deviations}"
    assert max(steps) < 1.0, f"the line broke between neighbouring rows: {steps}"


def test_elastic_is_the_identity_when_off_and_reproducible_in_the_seed():
    lines = _vertical_line(4)
    np.testing.assert_array_equal(augment.random_elastic(lines, 0.0, tf.constant([1, 1])).numpy(), lines.numpy())
    first = augment.random_elastic(lines, 20.0, tf.constant([2, 3])).numpy()
    np.testing.assert_array_equal(first, augment.random_elastic(lines, 20.0, tf.constant([2, 3])).numpy())
    assert not np.array_equal(first, augment.random_elastic(lines, 20.0, tf.constant([2, 4])).numpy())
    assert not np.array_equal(first[0], first[1]), "every image got the same field"
