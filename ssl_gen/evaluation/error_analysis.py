"""Where a classifier's errors are: its largest confusion cells, and the footed 1s (docs/RESULTS.md).

The footed-1 rule is ours, written to count a missing mode of MNIST-100's labeled 1s: a 1 with a
horizontal foot under its stem, which C called 2 on every run before `--augment_foot`.
"""

import numpy as np
import tensorflow as tf

from ssl_gen import augment
from ssl_gen.data import images as image_conversion
from ssl_gen.evaluation import classifier_metrics

INK_THRESHOLD = 127
MIN_FOOT_RUN = 8
MAX_STEM_WIDTH = 5


def largest_confusions(matrix, count=6):
    """The `count` largest off-diagonal cells of a [true, predicted] matrix as (true, predicted, images)."""
    matrix = np.asarray(matrix)
    cells = [(int(t), int(p), int(matrix[t, p])) for t in range(len(matrix)) for p in range(len(matrix))
             if t != p and matrix[t, p] > 0]
    return sorted(cells, key=lambda cell: (-cell[2], cell[0], cell[1]))[:count]


def _longest_run(row):
    longest = current = 0
    for pixel in row:
        current = current + 1 if pixel else 0
        longest = max(longest, current)
    return longest


def has_foot(image):
    """True if one uint8 image's lowest three ink rows hold a run of ≥ 8 ink pixels while the rows at
    30–70 % of the ink's height have a median width ≤ 5 px: a thin stem that ends in a bar."""
    ink = np.asarray(image).reshape(np.shape(image)[0], -1) > INK_THRESHOLD
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return False
    top, bottom = rows[0], rows[-1]
    span = bottom - top
    middle = ink[top + int(0.3 * span):top + int(0.7 * span) + 1]
    if np.median(middle.sum(axis=1)) > MAX_STEM_WIDTH:
        return False
    return max(_longest_run(row) for row in ink[max(top, bottom - 2):bottom + 1]) >= MIN_FOOT_RUN


def footed(images):
    """Boolean mask over a batch of uint8 images [N, H, W] or [N, H, W, 1]."""
    return np.array([has_foot(image) for image in np.asarray(images)], bool)


def footed_indices(images, labels, footed_class):
    """Indices of the images labeled `footed_class` that have a foot."""
    candidates = np.flatnonzero(np.asarray(labels) == footed_class)
    return candidates[footed(np.asarray(images)[candidates])]


def calls_with_a_drawn_foot(classify, images_uint8, seed=(3, 4)):
    """What `classify` calls uint8 images [N, H, W, C] before and after `augment.random_foot` draws a
    foot on every one it can (a stem must end the ink): would a foot on this class make hard examples for
    this C? Returns the predictions (plain, footed) of the images a foot was drawn on."""
    model_range = image_conversion.to_model_range(images_uint8)
    footed = augment.random_foot(model_range, 1.0, tf.constant(seed))
    footed_uint8 = image_conversion.model_to_uint8(footed).numpy()
    drawn = np.any(footed_uint8 != np.asarray(images_uint8), axis=tuple(range(1, footed_uint8.ndim)))
    return (classifier_metrics.predict(classify, np.asarray(images_uint8)[drawn]),
            classifier_metrics.predict(classify, footed_uint8[drawn]))
