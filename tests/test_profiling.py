import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import profiling
from ssl_gen.models import layers
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def test_graph_flops_counts_a_matmul_as_two_m_n_k():
    function = tf.function(lambda a, b: tf.matmul(a, b))
    concrete = function.get_concrete_function(tf.TensorSpec((8, 16)), tf.TensorSpec((16, 4)))
    assert profiling.graph_flops(concrete) == 2 * 8 * 16 * 4


def test_matmul_peak_is_positive_and_below_an_impossible_rate():
    # By default one chain, and one per core.
    rates = profiling.matmul_peak_by_chains(size=256, seconds=0.5)
    assert 1 in rates and 1e8 < max(rates.values()) < 1e14
    rates = profiling.matmul_peak_by_chains(size=128, seconds=0.2, chain_counts=(1, 3))
    assert sorted(rates) == [1, 3] and all(1e8 < rate < 1e14 for rate in rates.values())


def test_matmul_chains_are_independent_and_counted():
    block, flops = profiling.matmul_chains(size=16, chains=3, repeats=4)
    concrete = block.get_concrete_function([tf.TensorSpec((16, 16))] * 3, tf.TensorSpec((16, 16)))
    matmuls = [op for op in concrete.graph.get_operations() if op.type == "MatMul"]
    # Three chains: three products start from an input, each of the others from the previous product.
    first_inputs = [op.inputs[0].op.type for op in matmuls]
    assert len(matmuls) == 12 and first_inputs.count("Placeholder") == 3
    assert first_inputs.count("MatMul") == 9
    # The FLOPs a block is credited with are those of the matmuls it runs.
    assert flops == len(matmuls) * 2 * 16 ** 3


def test_train_step_flops_grow_with_the_batch(tmp_path):
    data = profiling.synthetic_data((8, 8, 1), 4, train_size=200)
    small, large = (profiling.measure_train_step(
        tiny_config(tmp_path, "", num_labeled=8, batch_size=batch), data, steps=2, warmup=1)
        for batch in (8, 32))
    assert small["step_flops"] > 0 and small["steps_per_second"] > 0
    # Every network's matmuls scale with the unlabeled batch; the labeled batch stays 8.
    assert 2.5 < large["step_flops"] / small["step_flops"] < 4.0


def test_matmuls_alone_are_counted_at_their_shapes_and_timed():
    function = tf.function(lambda a, b, c: tf.matmul(tf.matmul(a, b), c, transpose_b=True)
                           + tf.matmul(a, b, transpose_a=True)[:8, :4])
    concrete = function.get_concrete_function(tf.TensorSpec((8, 8)), tf.TensorSpec((8, 4)),
                                              tf.TensorSpec((4, 4)))
    timing = profiling.time_matmuls_alone(concrete, repeats=2, rounds=1)
    # (8×8)·(8×4), then (8×4)·(4×4)ᵀ, then (8×8)ᵀ·(8×4).
    assert timing["matmul_flops"] == 2 * (8 * 8 * 4 + 8 * 4 * 4 + 8 * 8 * 4)
    assert 0 < timing["matmul_seconds"] < 1


def test_matmuls_alone_take_a_mixed_precision_graph_of_bfloat16_and_float32_matmuls():
    # Under mixed precision the hidden layers multiply in bfloat16 and the output layer in float32.
    function = tf.function(lambda a, b, c: tf.matmul(tf.cast(tf.matmul(tf.cast(a, tf.bfloat16), b), tf.float32), c))
    concrete = function.get_concrete_function(tf.TensorSpec((8, 8)), tf.TensorSpec((8, 4), tf.bfloat16),
                                              tf.TensorSpec((4, 2)))
    timing = profiling.time_matmuls_alone(concrete, repeats=2, rounds=1)
    assert timing["matmul_flops"] == 2 * (8 * 8 * 4 + 8 * 4 * 2)


def test_matmul_shapes_groups_the_products_by_shape_and_transpose():
    function = tf.function(lambda a, b, c: tf.matmul(a, b) + tf.matmul(a + 1, b) + tf.matmul(a, b, transpose_a=True)
                           + tf.matmul(c, c, transpose_b=True)[:8, :4])
    concrete = function.get_concrete_function(tf.TensorSpec((8, 8)), tf.TensorSpec((8, 4)),
                                              tf.TensorSpec((8, 4)))
    rows = profiling.time_matmul_shapes(concrete, copies=2, repeats=2, rounds=1)
    found = {(tuple(row["a_shape"]), row["transpose_a"], row["transpose_b"]): row["count"] for row in rows}
    assert found == {((8, 8), False, False): 2, ((8, 8), True, False): 1, ((8, 4), False, True): 1}
    assert all(row["flops"] == 2 * 8 * 8 * 4 and row["seconds"] > 0 and row["dtype"] == "float32"
               for row in rows if row["a_shape"] == [8, 8])
    totals = [row["count"] * row["seconds"] for row in rows]
    assert totals == sorted(totals, reverse=True)


def test_matmul_shapes_times_every_copy_of_a_product():
    # Were the copies one operand pair, TensorFlow would multiply once for all of them and a product
    # would seem `copies` times cheaper: 8 copies 4× cheaper each than 2. Two copies, not one, so that the
    # call's own overhead, which a busy CPU inflates, is shared in both and does not pass for that gap.
    function = tf.function(lambda a, b: tf.matmul(a, b))
    concrete = function.get_concrete_function(tf.TensorSpec((512, 512)), tf.TensorSpec((512, 512)))
    two, eight = (profiling.time_matmul_shapes(concrete, copies=copies, repeats=5, rounds=3)[0]["seconds"]
                  for copies in (2, 8))
    assert eight > 0.5 * two


def test_leave_out_removes_the_work_and_puts_it_back():
    noise = layers.GaussianNoise(1.0, seed=1)
    dense = layers.WeightNormDense(3, seed=2)
    inputs = tf.ones((4, 5))
    dense.build(inputs.shape)
    dense.direction.assign(2.0 * dense.direction)  # Unnormalised, the output doubles.
    variable = keras.Variable(tf.ones((3,)))
    adam = keras.optimizers.Adam(0.1)
    adam.build([variable])
    normed = dense(inputs)
    with profiling.leave_out(("noise", "weight_norm", "optimizer")):
        assert np.array_equal(noise(inputs, training=True), inputs)
        np.testing.assert_allclose(dense(inputs), inputs @ dense.direction.numpy(), rtol=1e-5)
        adam.apply_gradients([(tf.ones((3,)), variable)])
        assert np.array_equal(variable.numpy(), np.ones(3))
    assert not np.array_equal(noise(inputs, training=True), inputs)
    np.testing.assert_allclose(dense(inputs), normed, rtol=1e-6)
    adam.apply_gradients([(tf.ones((3,)), variable)])
    assert np.all(variable.numpy() < 1)


def test_measure_refuses_unknown_work_to_remove(tmp_path):
    data = profiling.synthetic_data((8, 8, 1), 4, train_size=200)
    with pytest.raises(ValueError, match=r"received \['dropout'\]"):
        profiling.measure_train_step(tiny_config(tmp_path, "", num_labeled=8, batch_size=8), data,
                                     steps=1, warmup=0, removed=("noise", "dropout"))
    # The context itself refuses a misspelt part rather than silently removing nothing.
    with pytest.raises(ValueError, match=r"received \['nois'\]"):
        with profiling.leave_out(("nois",)):
            pass


def test_throughput_script_prints_its_measurements(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "throughput.py"), "--synthetic_shape=8,8,1",
         "--method=triple_gan", "--architecture=mlp", "--num_labeled=10", "--batch_size=100",
         "--classifier_units=128", "--discriminator_units=128",
         "--generator_units=64", "--latent_dim=4", "--steps=3", "--warmup=1", "--matmul_size=128",
         "--remove=noise,input_pipeline", "--matmul_shapes"],
        env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["image_shape"] == [8, 8, 1] and report["step_gflop"] > 0
    assert report["fraction_of_peak"] == pytest.approx(
        report["achieved_gflops"] / report["matmul_peak_gflops"], rel=0.05, abs=1e-4)
    assert report["removed"] == ["noise", "input_pipeline"]
    by_chains = report["matmul_peak_gflops_by_chains"]
    assert "1" in by_chains and report["matmul_peak_gflops"] == max(by_chains.values())
    # Wide enough layers and batch (weight norm's FLOPs do not grow with it) for the matmuls to be
    # ≥ 90 % of the FLOPs, where the script reports a ceiling.
    assert 0.9 * report["step_gflop"] <= report["matmul_gflop"] <= report["step_gflop"]
    # The step's matmuls alone take less time than the step does.
    assert report["ceiling_fraction_of_peak"] > report["fraction_of_peak"]
    # The other bound, matmuls at the peak: tiny matmuls are far from it, so it lies above the step.
    assert report["ceiling_with_matmuls_at_peak"] > report["fraction_of_peak"]
    assert report["other_work_seconds"] == pytest.approx(
        max(report["seconds_per_step"] - report["matmuls_alone_seconds"], 0), abs=2e-4)
    shapes = report["matmul_shapes"]
    # matmul_gflop is rounded to 1e6 FLOPs.
    assert sum(row["count"] * row["flops"] for row in shapes) == pytest.approx(report["matmul_gflop"] * 1e9, abs=5e5)
    assert all(row["fraction_of_peak"] > 0 for row in shapes)


def test_ceiling_with_matmuls_at_peak_keeps_the_steps_other_work():
    # 10 ms per step, 6 of them matmuls doing 2 of the step's 2.5 GFLOP; the peak does 1 GFLOP per ms.
    step = {"steps_per_second": 100.0, "matmul_seconds": 0.006, "matmul_flops": 2e9, "step_flops": 2.5e9}
    bound = profiling.ceiling_with_matmuls_at_peak(step, peak=1e12)
    assert bound["other_work_seconds"] == pytest.approx(0.004)
    # 4 ms of other work plus 2 ms of matmuls at the peak: 2.5 GFLOP in 6 ms.
    assert bound["ceiling_with_matmuls_at_peak"] == pytest.approx(2.5e9 / 0.006 / 1e12)
    # Matmuls timed alone slower than the whole step (timing noise): no other work, not negative.
    step_faster_than_its_matmuls = {**step, "matmul_seconds": 0.012}
    bound = profiling.ceiling_with_matmuls_at_peak(step_faster_than_its_matmuls, 1e12)
    assert bound["other_work_seconds"] == 0


def test_perf_report_is_split_into_matmul_kernels_and_the_rest_per_step():
    report = "\n".join([
        "# perf's header lines are not samples",
        "          3000  [JIT] tid 2650                  [.] 0x00007fc20b47f24e",
        "           996  [JIT] tid 2650                  [.] 0x00007fc20b47f001",
        "           999  [kernel.kallsyms]               [k] finish_task_switch.isra.0   -      -",
        "           500  libtensorflow_cc.so.2           [.] tensorflow::functor::ApplyAdamNonCuda<float>::operator()",
        "           499  ssl_gen_ops.so                  [.] ColumnNormsOp::Compute(tensorflow::OpKernelContext*)",
        "           499  libtensorflow_framework.so.2    [k] finish_task_switch.isra.0",
        ""])
    # 999 samples per second: one sample is ~1 ms of CPU; over 2 steps, halved.
    result = profiling.perf_cpu_per_step(report, steps=2, sampling_hz=999, top=2)
    assert result["matmul_ms"] == pytest.approx(3996 / 2 * 1000 / 999, abs=0.01)
    assert result["other_ms"] == pytest.approx(2497 / 2 * 1000 / 999, abs=0.01)
    assert result["top_other"] == [[pytest.approx(1498 / 2 * 1000 / 999, abs=0.01), "finish_task_switch.isra.0"],
                                   [pytest.approx(250.25, abs=0.01),
                                    "tensorflow::functor::ApplyAdamNonCuda<float>::operator()"]]


def _cpu_profile(data_path, *flags):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "cpu_profile.py"), f"--data_path={data_path}",
         "--num_labeled=20", "--batch_size=20", "--classifier_units=64", "--discriminator_units=64",
         "--generator_units=32", "--latent_dim=4", "--steps=20", "--warmup=2", *flags],
        env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cpu_profile_reports_cpu_per_step(mnist_small_path):
    report = _cpu_profile(mnist_small_path, "--noperf")
    assert report["steps"] == 20 and report["ms_per_step"] > 0 and "perf" not in report
    assert report["cores_busy"] == pytest.approx(report["cpu_ms_per_step"] / report["ms_per_step"], rel=0.01)


@pytest.mark.skipif(shutil.which("perf") is None, reason="Linux perf is not installed here")
def test_cpu_profile_splits_the_steps_cpu_with_perf(mnist_small_path):
    report = _cpu_profile(mnist_small_path, "--top=3")
    if "perf_error" in report:
        pytest.skip(f"perf cannot sample here: {report['perf_error']}")
    perf = report["perf"]
    assert perf["matmul_ms"] > 0 and perf["other_ms"] > 0 and len(perf["top_other"]) == 3
    # Sampled CPU cannot much exceed what the process used (1 ms per sample, ±sampling noise).
    assert perf["matmul_ms"] + perf["other_ms"] < 1.5 * report["cpu_ms_per_step"] + 5
