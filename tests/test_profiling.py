import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from ssl_gen import profiling
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def test_graph_flops_counts_a_matmul_as_two_m_n_k():
    function = tf.function(lambda a, b: tf.matmul(a, b))
    concrete = function.get_concrete_function(tf.TensorSpec((8, 16)), tf.TensorSpec((16, 4)))
    assert profiling.graph_flops(concrete) == 2 * 8 * 16 * 4


def test_matmul_peak_is_positive_and_below_an_impossible_rate():
    peak = profiling.matmul_peak(size=256, seconds=0.5)
    assert 1e8 < peak < 1e14


def test_train_step_flops_grow_with_the_batch(tmp_path):
    data = profiling.synthetic_data((8, 8, 1), 4, train_size=200)
    small, large = (profiling.measure_train_step(
        tiny_config(tmp_path, "", num_labeled=8, batch_size=batch), data, steps=2, warmup=1)
        for batch in (8, 32))
    assert small["step_flops"] > 0 and small["steps_per_second"] > 0
    # Every network's matmuls scale with the unlabeled batch; the labeled batch stays 8.
    assert 2.5 < large["step_flops"] / small["step_flops"] < 4.0


def test_throughput_script_prints_its_measurements(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "throughput.py"), "--synthetic_shape=8,8,1",
         "--num_labeled=10", "--batch_size=10", "--classifier_units=16", "--discriminator_units=16",
         "--generator_units=8", "--latent_dim=4", "--steps=3", "--warmup=1", "--matmul_size=128"],
        env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["image_shape"] == [8, 8, 1] and report["step_gflop"] > 0
    assert report["fraction_of_peak"] == pytest.approx(
        report["achieved_gflops"] / report["matmul_peak_gflops"], rel=0.05, abs=1e-4)
