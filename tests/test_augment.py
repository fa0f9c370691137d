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
