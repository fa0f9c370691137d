"""ssl_gen.evaluation.error_analysis and benchmarks/errors.py: confusion cells on the validation split."""

import json
import os
import subprocess
import sys

import numpy as np

from ssl_gen.training import train
from ssl_gen.evaluation import error_analysis
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def test_largest_confusions_are_off_diagonal_and_sorted():
    matrix = np.array([[50, 3, 0], [7, 40, 1], [0, 3, 9]])
    assert error_analysis.largest_confusions(matrix, 3) == [(1, 0, 7), (0, 1, 3), (2, 1, 3)]
    assert error_analysis.largest_confusions(np.eye(3) * 5) == []


def _errors_script(*arguments):
    return subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "errors.py"), *arguments],
                          env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)


def test_errors_script_reports_the_validation_split_of_a_trained_run(mnist_small_path, tmp_path):
    train.run(tiny_config(tmp_path, mnist_small_path, train_steps=6, validation_size=200))
    result = _errors_script("--cells=4", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["step"] == 6 and line["num_validation_images"] == 200
    assert 0.0 <= line["validation_error"] <= 1.0 and "test_error" not in line
    assert len(line["largest_cells"]) == 4 and all("->" in cell for cell in line["largest_cells"])
    # Each cell counts validation images, so together they cannot exceed the errors made.
    counted = sum(int(cell.split(": ")[1]) for cell in line["largest_cells"])
    assert counted <= round(line["validation_error"] * 200)


def test_errors_script_refuses_a_run_without_validation_split(mnist_small_path, tmp_path):
    train.run(tiny_config(tmp_path, mnist_small_path, train_steps=3, validation_size=0))
    result = _errors_script(str(tmp_path))
    assert result.returncode == 1 and "has no validation split" in result.stderr
