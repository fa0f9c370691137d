"""FixMatch's views: shifts move content, cutout blanks one square, both are reproducible in the seed."""

import functools

import numpy as np
import pytest
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


def _ink_per_image(images):
    return [np.argwhere(image[..., 0] > 0.0).astype(np.float64) for image in images]


def test_stroke_draws_one_straight_line_of_the_given_length_on_a_blank_image():
    blank = -tf.ones((64, 28, 28, 1))
    drawn = augment.random_stroke(blank, 1.0, tf.constant([2, 9]), min_length=6.0, max_length=14.0).numpy()
    lengths = []
    for pixels in _ink_per_image(drawn):
        assert len(pixels) >= 6
        centred = pixels - pixels.mean(axis=0)
        spreads = np.sqrt(np.linalg.eigvalsh(centred.T @ centred / len(pixels)))
        assert spreads[0] < 1.0, "the ink is not one thin straight stroke"
        axis = np.linalg.eigh(centred.T @ centred)[1][:, -1]
        lengths.append(np.ptp(centred @ axis))
        # The centre lies in the middle half of the image.
        assert np.all((pixels.mean(axis=0) > 5.0) & (pixels.mean(axis=0) < 23.0))
    assert 5.0 <= min(lengths) and max(lengths) <= 15.5
    assert max(lengths) - min(lengths) > 4.0, "every stroke got the same length"


def _stems(count, top=6, bottom=21, column=14):
    """Blank images with one vertical 2 px stroke in rows top..bottom: a 1, or a 7's stem."""
    images = -np.ones((count, 28, 28, 1), np.float32)
    images[:, top:bottom + 1, column:column + 2] = 1.0
    return tf.constant(images)


def test_crossbar_crosses_the_ink_near_the_middle_of_its_height():
    stems = _stems(64)
    drawn = augment.random_crossbar(stems, 1.0, tf.constant([5, 1])).numpy()
    added = (drawn > stems.numpy() + 0.5)[..., 0]
    for bar in added:
        rows, columns = np.nonzero(bar)
        # 35–65 % of rows 6–21 is 11.25–15.75; a 10 px bar at 20° rises ±1.7 px, the pen adds 1.5.
        assert 8 <= rows.min() and rows.max() <= 19, (rows.min(), rows.max())
        # Through the stem, not beside it: ink on both sides of columns 14–15.
        assert columns.min() <= 12 and columns.max() >= 17, (columns.min(), columns.max())
        assert len(rows) <= 40  # one short bar, not a smear
    assert np.all(drawn >= stems.numpy())


def test_crossbar_is_centred_on_the_ink_of_its_row_wherever_the_digit_is():
    shifted = _stems(16, top=2, bottom=13, column=4)
    drawn = augment.random_crossbar(shifted, 1.0, tf.constant([2, 2])).numpy()
    added = (drawn > shifted.numpy() + 0.5)[..., 0]
    centres = np.array([np.nonzero(bar)[1].mean() for bar in added])
    np.testing.assert_allclose(centres, 4.5, atol=1.5)


def _rings(count, top=6, bottom=21, left=8, right=19):
    """Blank images with a 2 px rectangular loop: a 0, whose middle rows hold two runs of ink."""
    images = -np.ones((count, 28, 28, 1), np.float32)
    images[:, top:bottom + 1, left:right + 1] = 1.0
    images[:, top + 2:bottom - 1, left + 2:right - 1] = -1.0
    return tf.constant(images)


def _closes_a_loop(images, rows, columns):
    """Per image, whether some row of the hole (rows × columns) is ink from side to side: a θ."""
    return np.any(np.all(images[:, rows, columns, 0] > 0, axis=2), axis=1)


def test_the_crossbar_closes_a_zero_into_a_theta_unless_kept_to_stems():
    rings = _rings(32)
    barred = augment.random_crossbar(rings, 1.0, tf.constant([7, 7])).numpy()
    assert _closes_a_loop(barred, slice(8, 20), slice(10, 18)).mean() > 0.5
    kept = augment.random_crossbar(rings, 1.0, tf.constant([7, 7]), stem_only=True).numpy()
    np.testing.assert_array_equal(kept, rings.numpy())


def test_a_stem_crossbar_still_crosses_a_stem_and_an_eights_waist_but_no_loop():
    stems = _stems(16)
    kept = augment.random_crossbar(stems, 1.0, tf.constant([5, 1]), stem_only=True).numpy()
    np.testing.assert_array_equal(kept, augment.random_crossbar(stems, 1.0, tf.constant([5, 1])).numpy())
    # An 8: two round loops (ink 4-5.5 px from (row 8, column 14) and (19, 14)) meeting in a waist at rows
    # 12-15, the only rows at 35-65 % of its height that hold one run of ink.
    rows, columns = np.mgrid[:28, :28]
    eights = -np.ones((64, 28, 28, 1), np.float32)
    for centre_row in (8, 19):
        distance = np.hypot(rows - centre_row, columns - 14)
        eights[:, (distance >= 4) & (distance <= 5.5)] = 1.0
    drawn = augment.random_crossbar(tf.constant(eights), 1.0, tf.constant([3, 9]), stem_only=True).numpy()
    barred = np.any(drawn > eights + 0.5, axis=(1, 2, 3))
    assert 0 < barred.mean() < 1  # not on the rows across the loops' sides
    # The loops' middle rows, where the hole is 7 px wide: a bar there is a θ; the waist's bar only thins
    # the hole's narrow end.
    holes = [(slice(centre_row - 2, centre_row + 3), slice(11, 18)) for centre_row in (8, 19)]
    assert not any(np.any(_closes_a_loop(drawn, *hole)) for hole in holes)
    unkept = augment.random_crossbar(tf.constant(eights), 1.0, tf.constant([3, 9])).numpy()
    assert any(np.any(_closes_a_loop(unkept, *hole)) for hole in holes)


def test_a_width_limit_keeps_the_bar_off_wide_runs_such_as_a_loops_flat_base():
    images = _stems(32).numpy()
    images[16:, 11:15, 8:20] = 1.0  # a 12 px wide slab over the middle rows: one wide run
    kept = augment.random_crossbar(tf.constant(images), 1.0, tf.constant([2, 6]), stem_only=True,
                                   max_stem_width=5).numpy()
    barred = np.any(kept > images + 0.5, axis=(1, 2, 3))
    unlimited = augment.random_crossbar(tf.constant(images), 1.0, tf.constant([2, 6]), stem_only=True).numpy()
    assert barred[:16].all()  # the 2 px stems keep their bar
    assert barred[16:].mean() < np.any(unlimited[16:] > images[16:] + 0.5, axis=(1, 2, 3)).mean()
    for image, drawn_one in zip(images[16:][barred[16:]], kept[16:][barred[16:]]):
        rows, _ = np.nonzero((drawn_one > image + 0.5)[..., 0])
        assert rows.mean() >= 14.5, rows  # centred on a 2 px stem row (15-16) below the slab (11-14)


def test_a_foot_crosses_the_bottom_end_of_a_stem():
    stems = _stems(64)  # rows 6-21, columns 14-15
    drawn = augment.random_foot(stems, 1.0, tf.constant([4, 2])).numpy()
    added = (drawn > stems.numpy() + 0.5)[..., 0]
    offsets = []
    for foot in added:
        rows, columns = np.nonzero(foot)
        # Row 21.5 ± the tilt of a 12 px bar at 10° (1 px) and the pen (1.5 px).
        assert 19 <= rows.min() and rows.max() <= 24, (rows.min(), rows.max())
        assert columns.max() - columns.min() >= 5 and len(rows) <= 50
        # It touches the stem's column span: a foot, not a stroke beside the digit.
        assert columns.min() <= 15 and columns.max() >= 14
        offsets.append(columns.mean() - 14.5)
    assert max(offsets) - min(offsets) > 3.0, "every foot got the same place"
    assert np.all(drawn >= stems.numpy())


def test_a_foot_is_not_drawn_under_a_loop_or_a_wide_base_nor_where_drawn_on_is_false():
    rings = _rings(16)
    np.testing.assert_array_equal(augment.random_foot(rings, 1.0, tf.constant([1, 1])).numpy(), rings.numpy())
    based = _stems(16).numpy()
    based[:, 20:22, 8:22] = 1.0  # a 2's base: the lowest rows hold one 14 px run
    np.testing.assert_array_equal(augment.random_foot(tf.constant(based), 1.0, tf.constant([1, 1])).numpy(), based)
    stems = _stems(16)
    chosen = np.arange(16) % 2 == 0
    drawn = augment.random_foot(stems, 1.0, tf.constant([1, 1]), drawn_on=tf.constant(chosen)).numpy()
    np.testing.assert_array_equal(np.any(drawn != stems.numpy(), axis=(1, 2, 3)), chosen)


def _noise(count):
    return tf.random.stateless_uniform((count, 16, 16, 1), seed=[4, 4], minval=-1.0, maxval=0.0)


@pytest.mark.parametrize("draw, make_images", [(augment.random_stroke, _noise),
                                               (augment.random_crossbar, _stems),
                                               (functools.partial(augment.random_crossbar, stem_only=True),
                                                _stems),
                                               (augment.random_foot, _stems)],
                         ids=["stroke", "crossbar", "stem_crossbar", "foot"])
def test_pen_strokes_only_add_ink_and_follow_their_probability_and_seed(draw, make_images):
    images = make_images(400)
    drawn = draw(images, 0.5, tf.constant([1, 3])).numpy()
    assert np.all(drawn >= images.numpy())
    changed = np.any(drawn != images.numpy(), axis=(1, 2, 3))
    assert 0.4 < changed.mean() < 0.6
    np.testing.assert_array_equal(drawn, draw(images, 0.5, tf.constant([1, 3])).numpy())
    assert not np.array_equal(drawn, draw(images, 0.5, tf.constant([1, 4])).numpy())
    np.testing.assert_array_equal(draw(images, 0.0, tf.constant([1, 3])).numpy(), images.numpy())


def test_crossbar_on_a_blank_image_draws_a_bar_in_the_frame():
    blank = augment.random_crossbar(-tf.ones((3, 28, 28, 1)), 1.0, tf.constant([0, 0])).numpy()
    assert np.all(np.isfinite(blank)) and np.all(np.any(blank > 0, axis=(1, 2, 3)))
