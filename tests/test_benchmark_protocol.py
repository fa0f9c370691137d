"""benchmarks/mnist.sh keeps the protocol: development seeds (1-99) are judged on validation only,
reporting seeds (>= 101) on the test set once, after training."""

import json
import os
import signal
import subprocess

import pytest

from tests.conftest import ROOT, SUBPROCESS_ENV
from tests.test_cli import TINY_FLAGS


def _mnist_sh(tmp_path, data_path, seed, run_dir, **env_vars):
    env = {**SUBPROCESS_ENV, "MNIST_NPZ": data_path, "RUN_DIR": str(run_dir), **env_vars}
    return subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "mnist.sh"), "20", str(seed),
                           "--train_steps=2", "--eval_every=2", *TINY_FLAGS],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("seed", [0, 100])
def test_a_seed_outside_both_ranges_is_refused_before_training(tmp_path, mnist_small_path, seed):
    result = _mnist_sh(tmp_path, mnist_small_path, seed, tmp_path / "run")
    assert result.returncode == 2 and "neither a development seed" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_reporting_seed_is_judged_on_the_test_set(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    result = _mnist_sh(tmp_path, mnist_small_path, 101, run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((run_dir / "eval.json").read_text())
    assert report["split"] == "test" and "validation_error" in report
    assert not (run_dir / "eval_validation.json").exists()
    # Rerun, as one resumes: the judged run is neither trained nor judged again.
    judged = (run_dir / "eval.json").stat().st_mtime_ns
    again = _mnist_sh(tmp_path, mnist_small_path, 101, run_dir)
    assert again.returncode == 0 and "judged on the test set already" in again.stderr
    assert (run_dir / "eval.json").stat().st_mtime_ns == judged


def test_judge_0_trains_and_reads_neither_split(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    result = _mnist_sh(tmp_path, mnist_small_path, 101, run_dir, JUDGE="0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (run_dir / "checkpoints").is_dir()
    assert not list(run_dir.glob("eval*.json"))


def test_a_reporting_run_stopped_by_sigterm_is_not_judged(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    env = {**SUBPROCESS_ENV, "MNIST_NPZ": mnist_small_path, "RUN_DIR": str(run_dir)}
    # Its own process group, so a failing assertion cannot leave the 100,000-step training running.
    script = subprocess.Popen(["bash", os.path.join(ROOT, "benchmarks", "mnist.sh"), "20", "101",
                               "--train_steps=100000", "--eval_every=100000", "--log_every=5", *TINY_FLAGS],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        while "step 5/" not in script.stdout.readline():
            assert script.poll() is None
        # The training process alone, as a queue's kill or a machine's shutdown reaches it.
        subprocess.run(["pkill", "-TERM", "-f", f"output_dir={run_dir}"], check=True)
        output = script.communicate(timeout=180)[0]
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
    assert script.returncode == 143, output[-3000:]
    assert (run_dir / "checkpoints").is_dir() and not list(run_dir.glob("eval*.json"))
