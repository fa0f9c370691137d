"""ssl_gen.evaluation.error_analysis and benchmarks/errors.py: the confusion cells and footed 1s that
docs/RESULTS.md quotes."""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from ssl_gen import train
from ssl_gen.evaluation import error_analysis
from tests.conftest import MNIST, ROOT, SUBPROCESS_ENV, tiny_config


def _one(foot_length, stem_width=2):
    """A 28×28 '1': a vertical stem in rows 4–23, with a horizontal foot of foot_length px in row 23."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 13:13 + stem_width] = 255
    image[23, 14 - foot_length // 2:14 - foot_length // 2 + foot_length] = 255
    return image


def test_largest_confusions_are_off_diagonal_and_sorted():
    matrix = np.array([[50, 3, 0], [7, 40, 1], [0, 3, 9]])
    assert error_analysis.largest_confusions(matrix, 3) == [(1, 0, 7), (0, 1, 3), (2, 1, 3)]
    assert error_analysis.largest_confusions(np.eye(3) * 5) == []


def test_a_footed_stem_is_told_from_a_plain_or_a_wide_one():
    assert error_analysis.has_foot(_one(foot_length=10))
    assert not error_analysis.has_foot(_one(foot_length=4))  # a short serif is not a foot
    assert not error_analysis.has_foot(_one(foot_length=10, stem_width=8))  # a wide body: a 2's base, not a 1
    assert not error_analysis.has_foot(np.zeros((28, 28, 1), np.uint8))
    mask = error_analysis.footed(np.stack([_one(10), _one(0)])[..., None])
    assert mask.tolist() == [True, False]


def test_the_rule_finds_the_footed_test_ones_that_earlier_finals_called_2():
    with np.load(MNIST) as mnist:
        found = set(error_analysis.footed_indices(mnist["x_test"], mnist["y_test"], 1).tolist())
    called_2_by_every_final = {956, 1527, 2182, 2266, 2358, 2434, 3073, 3132, 3906, 4013, 4212}
    assert len(found) == 9 and found <= called_2_by_every_final


def test_a_drawn_foot_is_counted_where_a_stem_ends_and_the_classifier_sees_it():
    # A classifier that reads the ink of the lowest rows: class 1 when a foot widens them, else 0.
    def bottom_heavy(images):
        bottom_ink = tf.reduce_sum(tf.cast(images[:, 22:25] > 0, tf.float32), axis=[1, 2, 3])
        return tf.stack([6.0 - bottom_ink, bottom_ink - 6.0], axis=1)

    stems = np.stack([_one(0), _one(0, stem_width=3), _one(0, stem_width=9)])[..., None]
    plain, footed = error_analysis.calls_with_a_drawn_foot(bottom_heavy, stems)
    # The 9-px-wide body ends in no stem, so it gets no foot and is not counted.
    assert plain.tolist() == [0, 0] and footed.tolist() == [1, 1]


def test_errors_script_reports_a_trained_run(mnist_small_path, tmp_path):
    train.run(tiny_config(tmp_path, mnist_small_path, train_steps=6))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "errors.py"), "--cells=4",
                             "--drawn_foot_classes=1,9", str(tmp_path)],
                            env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["step"] == 6 and 0.0 <= line["test_error"] <= 1.0
    assert len(line["largest_cells"]) == 4 and all("->" in cell for cell in line["largest_cells"])
    assert sum(line["footed_train"]["called"].values()) == line["footed_train"]["count"]
    assert sum(line["footed_test"]["called"].values()) == len(line["footed_test"]["indices"])
    for name in ("1", "9"):
        drawn = line["drawn_foot"][name]
        assert drawn["drawn"] > 0
        assert sum(drawn["plain_called"].values()) == sum(drawn["footed_called"].values()) == drawn["drawn"]
