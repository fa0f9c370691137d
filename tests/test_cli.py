"""The scripts as a user runs them, in subprocesses."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

TINY_FLAGS = ["--classifier_units=64,32", "--discriminator_units=64,32", "--generator_units=32",
              "--latent_dim=16", "--batch_size=50", "--warmup_steps=20",
              "--ema_decay=0.9"]


def _run(script, *flags, returncode=0):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), *flags],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == returncode, result.stderr[-3000:]
    return result


def test_train_then_evaluate_end_to_end(tmp_path, mnist_small_path):
    run_dir = str(tmp_path / "run")
    common = [f"--data_path={mnist_small_path}", f"--output_dir={run_dir}", "--num_labeled=100"]
    train = _run("train.py", *common, "--train_steps=60", "--eval_every=30", "--log_every=20",
                 *TINY_FLAGS)
    assert "steps/s" in train.stderr
    evaluation = _run("evaluate.py", f"--output_dir={run_dir}")
    report = json.loads(open(os.path.join(run_dir, "eval.json")).read())
    assert report == json.loads(evaluation.stdout)
    assert report["num_labeled"] == 100 and report["step"] == 60
    # 100 labels and 60 small steps already beat chance (90 % error) by a wide margin.
    assert 0.0 <= report["test_error"] < 0.6
    for image in ("samples_by_class.png", "test_error_curve.png"):
        assert os.path.getsize(os.path.join(run_dir, "eval", image)) > 1000


@pytest.mark.parametrize("script,expected", [
    ("train.py", ["--data_path", "--num_labeled", "--train_steps", "--epochs", "--batch_size", "--seed",
                  "--learning_rate", "--eval_every", "--checkpoint_every", "--jit_compile",
                  "--[no]mixed_precision"]),
    ("evaluate.py", ["--output_dir", "--data_path"]),
])
def test_help_lists_flags_with_help_text(script, expected):
    result = _run(script, "--helpfull", returncode=1)  # absl exits with 1 after printing help.
    text = " ".join(result.stdout.split())  # absl wraps help text.
    for flag in expected:
        assert flag + ":" in text
    if script == "train.py":
        assert "--num_labeled: Labeled training images in total, balanced per class." in text


def test_train_without_output_dir_fails_clearly():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "train.py")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0
    assert "output_dir" in result.stderr
