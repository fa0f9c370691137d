"""Crash safety: SIGTERM/SIGINT save and exit with the signal's status; kill -9 loses at most one checkpoint
interval."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import ROOT, SUBPROCESS_ENV
from tests.test_cli import TINY_FLAGS


def _start(run_dir, data_path, steps, checkpoint_every=5):
    command = [sys.executable, os.path.join(ROOT, "experiments", "train.py"), f"--data_path={data_path}",
               f"--output_dir={run_dir}", "--num_labeled=20", f"--train_steps={steps}", "--eval_every=100000",
               "--log_every=5", f"--checkpoint_every={checkpoint_every}", *TINY_FLAGS]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=SUBPROCESS_ENV)


def _wait_for_checkpoint(run_dir, process, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
        if latest is not None:
            return latest
        assert process.poll() is None, process.stdout.read()[-3000:]
        time.sleep(0.5)
    raise AssertionError("no checkpoint appeared")


def _step_of(checkpoint_path):
    return int(checkpoint_path.rsplit("-", 1)[1])


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_saves_a_checkpoint_and_exits_with_its_status(tmp_path, mnist_small_path, signal_number):
    run_dir = str(tmp_path / "run")
    process = _start(run_dir, mnist_small_path, steps=100000, checkpoint_every=1000)
    # No interval checkpoint comes before step 1000, so one that appears is the signal's.
    while "step 5/" not in process.stdout.readline():
        assert process.poll() is None
    process.send_signal(signal_number)
    output = process.communicate(timeout=120)[0]
    # The shell's status for a signal's end (130, 143), so a script that judges the run next stops.
    assert process.returncode == 128 + signal_number, output[-3000:]
    assert f"{signal.Signals(signal_number).name} received: saved a checkpoint at step" in output
    assert "run the same command again to resume" in output and "Traceback" not in output
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    assert latest is not None and 5 <= _step_of(latest) < 1000


def test_kill_9_then_rerun_continues_from_the_last_checkpoint(tmp_path, mnist_small_path):
    run_dir = str(tmp_path / "run")
    process = _start(run_dir, mnist_small_path, steps=100000)
    _wait_for_checkpoint(run_dir, process)
    time.sleep(2)  # Let it run on, possibly into the middle of another save.
    process.kill()
    process.wait()
    indices = np.load(os.path.join(run_dir, "labeled_indices.npy"))
    killed_at = _step_of(tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints")))

    rerun = _start(run_dir, mnist_small_path, steps=killed_at + 5)
    output = rerun.communicate(timeout=180)[0]
    assert rerun.returncode == 0, output[-3000:]
    assert f"at step {killed_at}" in output  # "resumed from …ckpt-N at step N"
    assert _step_of(tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))) == killed_at + 5
    np.testing.assert_array_equal(np.load(os.path.join(run_dir, "labeled_indices.npy")), indices)
