"""The native kernels: built here, the draw they are specified to make, and the fallback without them."""

import glob
import math
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import native
from ssl_gen.layers import GaussianNoise, WeightNormDense
from ssl_gen.native import build

HAS_COMPILER = any(shutil.which(name) for name in ("g++", "c++", "clang++"))
needs_kernels = pytest.mark.skipif(not HAS_COMPILER, reason="no C++ compiler on this machine")


def _philox4x32_10(counters, key):
    """Random123's Philox4x32-10 in numpy (uint64 arithmetic): counters [n, 4] uint32, key [2]."""
    words = counters.astype(np.uint64)
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    low = np.uint64(0xFFFFFFFF)
    for _ in range(10):
        p0 = words[:, 0] * np.uint64(0xD2511F53)
        p1 = words[:, 2] * np.uint64(0xCD9E8D57)
        words = np.stack([(p1 >> np.uint64(32)) ^ words[:, 1] ^ k0, p1 & low,
                          (p0 >> np.uint64(32)) ^ words[:, 3] ^ k1, p0 & low], axis=1)
        k0, k1 = (k0 + np.uint64(0x9E3779B9)) & low, (k1 + np.uint64(0xBB67AE85)) & low
    return words


def _reference_normals(count, seed):
    """The stream gaussian_noise.cc specifies, in float64: 16 counters per block of 64 normals."""
    seed = np.asarray(seed, dtype=np.int64).view(np.uint64)
    blocks = -(-count // 64)
    lanes = np.arange(blocks * 16, dtype=np.uint64)
    counters = np.stack([lanes & np.uint64(0xFFFFFFFF), lanes >> np.uint64(32),
                         np.full_like(lanes, seed[0] >> np.uint64(32)),
                         np.full_like(lanes, seed[1] >> np.uint64(32))], axis=1)
    words = _philox4x32_10(counters, seed & np.uint64(0xFFFFFFFF)).reshape(blocks, 16, 4)
    out = []
    for radius_word, angle_word in ((words[..., 0], words[..., 1]), (words[..., 2], words[..., 3])):
        u = ((radius_word >> np.uint64(8)).astype(np.float64) + 0.5) / 2.0**24
        radius = np.sqrt(-2.0 * np.log(u))
        quarter = (angle_word >> np.uint64(30)).astype(np.float64)
        within = ((((angle_word >> np.uint64(8)) & np.uint64(0x3FFFFF)).astype(np.float64) + 0.5) / 2.0**22
                  - 0.5) * np.pi / 2
        angle = within + quarter * np.pi / 2
        out += [radius * np.cos(angle), radius * np.sin(angle)]
    return np.concatenate(out, axis=1).ravel()[:count]  # per block: cos, sin of (w0, w1), then (w2, w3)


def test_philox_matches_random123_known_answers():
    # Random123's kat_vectors: philox4x32_10, counter 0, key 0 and counter/key all ones.
    zero = _philox4x32_10(np.zeros((1, 4), np.uint32), (0, 0))[0]
    ones = _philox4x32_10(np.full((1, 4), 0xFFFFFFFF, np.uint32), (0xFFFFFFFF, 0xFFFFFFFF))[0]
    assert [hex(int(w)) for w in zero] == ["0x6627e8d5", "0xe169c58d", "0xbc57ac4c", "0x9b00dbd8"]
    assert [hex(int(w)) for w in ones] == ["0x408f276d", "0x41c83b0e", "0xa20bc7c6", "0x6d5451fd"]


@needs_kernels
def test_kernel_builds_and_draws_the_specified_stream_across_threads():
    assert native.library() is not None, "the native kernels did not build on a machine with a compiler"
    # 100 blocks and a partial one: split between threads; the seed's high halves are in the counter.
    shape, seed = (13, 494), [2**40 + 5, -3]
    offset = np.linspace(-1, 1, 13 * 494, dtype=np.float32).reshape(shape)
    drawn = native.add_gaussian_noise(tf.constant(offset), tf.constant(seed, tf.int64), 0.5).numpy()
    expected = offset + 0.5 * _reference_normals(offset.size, seed).reshape(shape)
    # float32 series for log, sin and cos: ~1e-6 from the float64 reference (worst where the radius is small)
    np.testing.assert_allclose(drawn, expected, atol=1e-5)


@needs_kernels
def test_kernel_draws_are_standard_normal_and_uncorrelated():
    draws = native.add_gaussian_noise(tf.zeros((401, 251)), [5, 0], 1.0).numpy().ravel()
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - 1.0) < 0.01
    # Kolmogorov–Smirnov distance to N(0, 1): 0.01 is twice its 1 % critical value here (1.63/√n).
    ordered = np.sort(draws)
    normal_cdf = 0.5 * (1.0 + np.vectorize(math.erf)(ordered / math.sqrt(2.0)))
    assert np.max(np.abs(np.arange(1, ordered.size + 1) / ordered.size - normal_cdf)) < 0.01
    # The cos and sin of one pair sit 16 apart; neighbours come from different counters.
    for lag in (1, 16, 32):
        assert abs(np.corrcoef(draws[:-lag], draws[lag:])[0, 1]) < 0.01


@needs_kernels
def test_noise_layer_adds_the_kernels_draw_and_passes_gradients_through():
    layer, twin = GaussianNoise(0.3, seed=7), GaussianNoise(0.3, seed=7)
    inputs = tf.Variable(tf.zeros((40, 30)))
    with tf.GradientTape() as tape:
        outputs = layer(inputs, training=True)
        loss = tf.reduce_sum(outputs * tf.range(30, dtype=tf.float32))
    expected = native.add_gaussian_noise(tf.zeros((40, 30)), twin.seed_generator.next(), 0.3)
    np.testing.assert_array_equal(outputs.numpy(), expected.numpy())
    np.testing.assert_array_equal(tape.gradient(loss, inputs).numpy(),
                                  np.tile(np.arange(30, dtype=np.float32), (40, 1)))


@needs_kernels
def test_noise_kernel_takes_bfloat16_draws_the_same_stream_and_rounds_once():
    inputs = tf.random.stateless_normal((37, 53), [1, 2])  # 1,961 elements: a partial last block
    seed = tf.constant([3, 4], tf.int64)
    rounded = tf.cast(inputs, tf.bfloat16)
    noised = native.add_gaussian_noise(rounded, seed, 0.5)
    in_float = native.add_gaussian_noise(tf.cast(rounded, tf.float32), seed, 0.5)
    assert noised.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(noised, tf.float32).numpy(),
                                  tf.cast(tf.cast(in_float, tf.bfloat16), tf.float32).numpy())
    layer = GaussianNoise(0.5, seed=3)
    traced = tf.function(lambda x: layer(x, training=True)).get_concrete_function(
        tf.TensorSpec((4, 5), tf.bfloat16))
    assert "SslGenAddGaussianNoise" in {op.type for op in traced.graph.get_operations()}
    assert not native.supports(tf.bfloat16) and native.supports(tf.bfloat16, native.ACTIVATION_DTYPES)


@pytest.fixture
def fresh_native(monkeypatch, tmp_path):
    """No loaded library and an empty cache, so the next call builds (or fails to) from scratch."""
    monkeypatch.setattr(native, "_library", {})
    monkeypatch.setenv("SSL_GEN_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "broken-c++"
    # It writes half an output file, then fails, as a compiler killed mid-link would.
    fake.write_text("#!/bin/sh\nprevious=''\nfor arg; do [ \"$previous\" = -o ] && echo half > \"$arg\"; "
                    "previous=$arg; done\necho 'fatal error: this compiler builds nothing' >&2\nexit 3\n")
    fake.chmod(0o755)
    return str(fake)


def test_a_failed_build_falls_back_in_auto_and_fails_loudly_when_required(fresh_native, monkeypatch):
    monkeypatch.setenv("CXX", fresh_native)
    monkeypatch.setenv(native.ENV_MODE, "auto")
    assert native.library() is None and not native.supports(tf.float32)
    noisy = GaussianNoise(1.0, seed=1)(tf.zeros((100, 50)), training=True).numpy()
    assert abs(noisy.std() - 1.0) < 0.05  # TensorFlow ops drew it
    monkeypatch.setattr(native, "_library", {})
    monkeypatch.setenv(native.ENV_MODE, "on")
    with pytest.raises(build.BuildError, match="(?s)exited with 3.*builds nothing"):
        native.library()
    assert not glob.glob(os.path.join(os.environ["SSL_GEN_CACHE"], "native", "*", build.LIBRARY_NAME + "*"))


def test_only_target_flags_the_compiler_knows_reach_its_command_line():
    compiler = build.find_compiler()
    assert build._accepted_flags(compiler, ("-mno-such-target-feature", "-O2")) == ("-O2",)
    command = build.compile_command(compiler, ["kernel.cc"], "out.so")
    known = build._accepted_flags(compiler, build.AVOIDED_TARGET_FLAGS)
    assert command[1:1 + len(build.OPTIMIZATION_FLAGS) + len(known)] == [*build.OPTIMIZATION_FLAGS, *known]


def test_missing_compiler_and_bad_mode_are_named(fresh_native, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    with pytest.raises(build.BuildError, match="no-such-compiler-here"):
        build.shared_library()
    monkeypatch.setenv(native.ENV_MODE, "sometimes")
    with pytest.raises(ValueError, match="'sometimes'"):
        native.library()
    monkeypatch.setenv(native.ENV_MODE, "off")
    assert not native.supports(tf.float32)
    with pytest.raises(RuntimeError, match="not loaded"):
        native.add_gaussian_noise(tf.zeros(3), [1, 2], 1.0)


@needs_kernels
def test_only_float32_outside_xla_goes_to_the_kernel():
    assert native.supports(tf.float32)
    assert not native.supports(tf.bfloat16)
    assert tf.function(lambda: native.supports(tf.float32))()
    assert not tf.function(lambda: native.supports(tf.float32), jit_compile=True)()
    with native.disabled():  # as the SavedModel export traces
        assert not native.supports(tf.float32)
    assert native.supports(tf.float32)


@needs_kernels
def test_weight_norm_kernels_match_numpy_and_name_bad_shapes():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(300, 130)).astype(np.float32)  # 130 columns: two full shards and a partial
    scales = rng.normal(size=130).astype(np.float32)
    ops = native.library()
    np.testing.assert_allclose(ops.ssl_gen_column_norms(kernel).numpy(), np.linalg.norm(kernel, axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(ops.ssl_gen_scale_columns(kernel, scales).numpy(), kernel * scales, rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"column_scales .* 130 columns, received \[129\]"):
        ops.ssl_gen_scale_columns(kernel, scales[:129])
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match="rank 2|matrix"):
        ops.ssl_gen_column_norms(kernel[0])


@pytest.mark.parametrize("kernels", ["native", "off"])
def test_weight_normed_layer_gradients_are_those_of_its_formula(kernels, monkeypatch):
    if kernels == "native" and not HAS_COMPILER:
        pytest.skip("no C++ compiler on this machine")
    monkeypatch.setenv(native.ENV_MODE, "auto" if kernels == "native" else "off")
    assert native.supports(tf.float32) == (kernels == "native")
    rng = np.random.default_rng(1)
    layer = WeightNormDense(5, train_scale=True, seed=3)
    inputs = tf.constant(rng.normal(size=(7, 13)).astype(np.float32))
    layer.build(inputs.shape)
    layer.scale.assign(rng.uniform(0.5, 2.0, size=5).astype(np.float32))
    weights = tf.constant(rng.normal(size=(7, 5)).astype(np.float32))

    def loss_and_gradients(forward):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(forward(inputs) * weights)
        return [loss] + tape.gradient(loss, [inputs, layer.direction, layer.scale, layer.bias])

    def formula(x):
        v = tf.convert_to_tensor(layer.direction)
        return tf.matmul(x, v / tf.sqrt(tf.reduce_sum(v * v, axis=0))) * layer.scale + layer.bias

    for layers_value, formulas in zip(loss_and_gradients(layer), loss_and_gradients(formula)):
        np.testing.assert_allclose(layers_value.numpy(), formulas.numpy(), rtol=1e-5, atol=1e-5)


def _relu_noise_formula(products, scales, bias, seed, stddev):
    activations = tf.nn.relu(products * scales + bias)
    return native.add_gaussian_noise(activations, seed, stddev) if stddev else activations


@needs_kernels
@pytest.mark.parametrize("stddev", [0.5, 0.0])
def test_fused_relu_noise_is_the_epilogue_then_the_noise_kernel(stddev):
    # 13 × 77: noise blocks of 64 straddle rows; 77 units: a full and a partial shard of columns.
    rng = np.random.default_rng(2)
    products = tf.constant(rng.normal(size=(13, 77)).astype(np.float32))
    scales = tf.constant(rng.uniform(-2, 2, size=77).astype(np.float32))
    bias = tf.constant(rng.normal(size=77).astype(np.float32))
    seed = tf.constant([2**33 + 9, 4], tf.int64)
    weights = tf.constant(rng.normal(size=(13, 77)).astype(np.float32))

    def value_and_gradients(forward):
        with tf.GradientTape() as tape:
            tape.watch([products, scales, bias])
            outputs = forward(products, scales, bias, seed, stddev)
            loss = tf.reduce_sum(outputs * weights)
        return [outputs] + tape.gradient(loss, [products, scales, bias])

    fused, separate = value_and_gradients(native.scale_bias_relu_noise), value_and_gradients(_relu_noise_formula)
    assert np.mean(fused[0].numpy() == 0) == pytest.approx(np.mean(separate[0].numpy() == 0))
    for fused_value, separate_value in zip(fused, separate):
        np.testing.assert_allclose(fused_value.numpy(), separate_value.numpy(), rtol=1e-5, atol=1e-5)


@needs_kernels
def test_fused_relu_noise_in_bfloat16_is_the_float_kernel_rounded_once():
    rng = np.random.default_rng(3)
    products, upstream = (tf.cast(rng.normal(size=(13, 77)).astype(np.float32), tf.bfloat16) for _ in range(2))
    scales = tf.constant(rng.uniform(-2, 2, size=77).astype(np.float32))
    bias = tf.constant(rng.normal(size=77).astype(np.float32))
    seed = tf.constant([7, 8], tf.int64)

    def widened(tensor):
        return tf.cast(tensor, tf.float32)

    def as_bfloat16_values(tensor):
        return widened(tf.cast(tensor, tf.bfloat16)).numpy()

    noised = native.scale_bias_relu_noise(products, scales, bias, seed, 0.5)
    in_float = native.scale_bias_relu_noise(widened(products), scales, bias, seed, 0.5)
    assert noised.dtype == tf.bfloat16
    np.testing.assert_array_equal(widened(noised).numpy(), as_bfloat16_values(in_float))
    ops = native.library()
    gradients = ops.ssl_gen_scale_bias_relu_grad(upstream, products, scales, bias)
    float_gradients = ops.ssl_gen_scale_bias_relu_grad(widened(upstream), widened(products), scales, bias)
    assert [g.dtype for g in gradients] == [tf.bfloat16, tf.float32, tf.float32]
    np.testing.assert_array_equal(widened(gradients[0]).numpy(), as_bfloat16_values(float_gradients[0]))
    for mine, expected in zip(gradients[1:], float_gradients[1:]):  # summed in float from the same inputs
        np.testing.assert_array_equal(mine.numpy(), expected.numpy())


@needs_kernels
def test_a_mixed_precision_network_uses_the_bfloat16_kernels_and_computes_as_tensorflow(monkeypatch):
    from ssl_gen.networks import Discriminator

    images, labels = tf.random.stateless_uniform((9, 6, 6, 1), [1, 2], -1, 1), tf.constant([0, 1, 2] * 3)

    def logits(mode):
        monkeypatch.setenv(native.ENV_MODE, mode)
        monkeypatch.setattr(native, "_library", {})
        network = Discriminator(3, hidden_units=(20, 70, 11), seed=5)
        traced = tf.function(lambda x: network.body(x, labels)[0])
        values = traced(images)
        kinds = {op.type for op in traced.get_concrete_function(images).graph.get_operations()}
        return tf.cast(values, tf.float32).numpy(), kinds

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        native_logits, native_kinds = logits("on")
        tensorflow_logits, tensorflow_kinds = logits("off")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "SslGenScaleBiasReluNoise" in native_kinds and "SslGenScaleBiasReluNoise" not in tensorflow_kinds
    # TensorFlow rounds to bfloat16 after each of its ops, the kernel once: bfloat16's precision apart.
    np.testing.assert_allclose(native_logits, tensorflow_logits, atol=0.05 * np.abs(tensorflow_logits).max())


@needs_kernels
def test_fused_relu_noise_names_bad_shapes():
    ops = native.library()
    products, vector = tf.zeros((4, 6)), tf.zeros(6)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"bias must be a vector of the 6 units, received shape \[5\]"):
        ops.ssl_gen_scale_bias_relu_noise(products, vector, tf.zeros(5), tf.zeros(2, tf.int64), 0.1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seed must have 2 elements, received shape \[3\]"):
        ops.ssl_gen_scale_bias_relu_noise(products, vector, vector, tf.zeros(3, tf.int64), 0.1)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"gradient must have the products' shape \[4,6\], received \[4,5\]"):
        ops.ssl_gen_scale_bias_relu_grad(tf.zeros((4, 5)), products, vector, vector)


@needs_kernels
def test_networks_draw_the_same_with_the_fused_epilogue_as_layer_by_layer(monkeypatch):
    from ssl_gen.networks import Discriminator

    images, labels = tf.random.stateless_uniform((9, 6, 6, 1), [1, 2], -1, 1), tf.constant([0, 1, 2] * 3)

    def run(fused):
        if not fused:  # every layer on its own, as before the fused op: TensorFlow epilogue, native noise
            monkeypatch.setattr(WeightNormDense, "relu_then_noise",
                                lambda self, x, noise, training=False: noise(tf.nn.relu(self(x)), training=training))
        network = Discriminator(3, hidden_units=(20, 70, 11), seed=5)
        with tf.GradientTape() as tape:
            logits, features = network.body(images, labels, training=True)
            loss = tf.reduce_sum(logits) + tf.reduce_sum(features ** 2)
        return [logits, features] + tape.gradient(loss, network.trainable_variables)

    fused, separate = run(True), run(False)
    for fused_value, separate_value in zip(fused, separate):
        np.testing.assert_allclose(fused_value.numpy(), separate_value.numpy(), rtol=1e-4, atol=1e-5)


def _adam_slots(shapes, rng):
    return [[tf.Variable(rng.normal(size=shape).astype(np.float32)) for shape in shapes] for _ in range(3)]


@needs_kernels
def test_native_adam_is_resource_apply_adam_over_all_variables_at_once():
    # 150 × 130 = 19,500 elements: more than one unit of work (16,384), so one variable spans threads.
    shapes, rng = [(150, 130), (7,), (3, 5)], np.random.default_rng(3)
    native_slots = _adam_slots(shapes, rng)
    reference_slots = [[tf.Variable(v) for v in group] for group in native_slots]
    for step in range(1, 4):
        gradients = [tf.constant(rng.normal(size=shape).astype(np.float32)) for shape in shapes]
        hyper = dict(learning_rate=3e-3, beta_1=0.5, beta_2=0.999, epsilon=1e-8,
                     beta_1_power=0.5 ** step, beta_2_power=0.999 ** step)
        native.apply_adam(*native_slots, gradients, *hyper.values())
        for variable, m, v, gradient in zip(*reference_slots, gradients):
            tf.raw_ops.ResourceApplyAdam(var=variable.handle, m=m.handle, v=v.handle, lr=hyper["learning_rate"],
                                         beta1=hyper["beta_1"], beta2=hyper["beta_2"], epsilon=hyper["epsilon"],
                                         beta1_power=hyper["beta_1_power"], beta2_power=hyper["beta_2_power"],
                                         grad=gradient)
    for native_group, reference_group in zip(native_slots, reference_slots):
        for ours, theirs in zip(native_group, reference_group):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


@needs_kernels
def test_native_updates_leave_earlier_reads_alone_and_name_bad_variables():
    variable, average = tf.Variable(tf.ones((4, 3))), tf.Variable(tf.zeros((4, 3)))
    read_before = variable.read_value()  # shares the buffer until the update copies it
    native.moving_average([variable], [tf.fill((4, 3), 3.0)], 0.75)
    np.testing.assert_array_equal(read_before.numpy(), np.ones((4, 3)))
    np.testing.assert_allclose(variable.numpy(), np.full((4, 3), 0.75 + 0.25 * 3.0))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"average 0 must be an initialised float variable of shape \[4,2\], "
                             r"received float \[4,3\]"):
        native.moving_average([average], [tf.zeros((4, 2))], 0.5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"momentum 0 .* shape \[4,3\], received float \[2\]"):
        native.apply_adam([variable], [tf.Variable(tf.zeros(2))], [tf.Variable(tf.zeros((4, 3)))],
                          [tf.zeros((4, 3))], 1e-3, 0.9, 0.999, 1e-8, 0.9, 0.999)


@needs_kernels
def test_networks_update_in_one_op_each_and_as_without_the_kernels(monkeypatch):
    import keras

    from ssl_gen import optim
    from ssl_gen.networks import Classifier

    def train(mode):
        monkeypatch.setenv(native.ENV_MODE, mode)
        keras.utils.set_random_seed(0)
        model, twin = Classifier(4, hidden_units=(12, 9), seed=1), Classifier(4, hidden_units=(12, 9))
        images = tf.random.stateless_normal((16, 5, 5, 1), [1, 2])
        model(images), twin(images)
        average, optimizer = optim.WeightAverage(model, twin, 0.9), optim.FusedAdam(1e-2)
        average.reset()
        optimizer.build(model.trainable_variables)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(images) ** 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            average.update(optimizer.iterations)

        for _ in range(4):
            step()
        op_types = [op.type for op in step.get_concrete_function().graph.get_operations()]
        return [w.numpy() for w in model.weights + twin.weights + optimizer.variables], op_types

    with_kernels, op_types = train("auto")
    without, op_types_off = train("off")
    assert op_types.count("SslGenApplyAdam") == 1 and op_types.count("SslGenMovingAverage") == 1
    assert "ResourceApplyAdam" not in op_types and op_types_off.count("ResourceApplyAdam") == 7
    for ours, theirs in zip(with_kernels, without):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
