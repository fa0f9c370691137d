"""Kernels compiled for this machine on first use, with TensorFlow ops as the fallback.

TensorFlow's pip wheel builds its element-wise kernels without AVX2 or AVX-512 ("rebuild TensorFlow with
the appropriate compiler flags", it says at start-up), and on a CPU the MLP step spends more time on
them than the matmuls leave room for (docs/RESULTS.md, throughput). The kernels here are compiled by the
system's C++ compiler against the installed TensorFlow, once per machine and TensorFlow version, and
cached; a machine without a compiler gets the same distribution from TensorFlow ops, with a warning.

`SSL_GEN_NATIVE_OPS`: `auto` (default: use them where they build, fall back where they do not), `on`
(fail if they do not build), `off` (TensorFlow ops only).
"""

import contextlib
import os
import threading

import tensorflow as tf
from absl import logging
from tensorflow.python.ops import control_flow_util  # no public test for an XLA trace

from ssl_gen.native import build

MODES = ("auto", "on", "off")
ENV_MODE = "SSL_GEN_NATIVE_OPS"

_library = {}
_suspended = threading.local()


def mode():
    value = os.environ.get(ENV_MODE, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{ENV_MODE} must be one of {MODES}; received {value!r}")
    return value


def library():
    """The loaded op library, or None where the mode is `off` or (in `auto`) it cannot be built."""
    current = mode()
    if current == "off":
        return None
    if "ops" not in _library:
        _library["ops"] = _load(required=current == "on")
    return _library["ops"]


def _load(required):
    if tf.config.list_physical_devices("GPU") and not required:
        return None  # CPU kernels only: on a GPU they would pull every noisy activation to the host
    try:
        path = build.shared_library()
        ops = tf.load_op_library(path)
    except (build.BuildError, tf.errors.NotFoundError) as error:
        if required:
            raise
        logging.warning("ssl_gen native ops unavailable, using TensorFlow ops (%s=off silences "
                        "this): %s", ENV_MODE, error)
        return None
    return ops


def supports(dtype, kernel_dtypes=(tf.float32,)):
    """Whether the native kernels (float32, CPU, not under XLA) take tensors of `dtype` here;
    `kernel_dtypes`: those of a kernel that takes more (ACTIVATION_DTYPES)."""
    return (tf.as_dtype(dtype) in kernel_dtypes and not getattr(_suspended, "active", False)
            and not _tracing_for_xla() and library() is not None)


# The kernels on activations (the noise, the fused epilogue) also take mixed precision's bfloat16.
ACTIVATION_DTYPES = (tf.float32, tf.bfloat16)


@contextlib.contextmanager
def disabled():
    """TensorFlow ops only while tracing in this block, e.g. a SavedModel that must load anywhere."""
    previous = getattr(_suspended, "active", False)
    _suspended.active = True
    try:
        yield
    finally:
        _suspended.active = previous


def _tracing_for_xla():
    # XLA compiles only ops it knows; under tf.function(jit_compile=True) the TensorFlow ops draw.
    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def add_gaussian_noise(inputs, seed, stddev):
    """inputs + stddev · N(0, 1) in one op, the normals keyed by `seed` (two integers)."""
    return _loaded().ssl_gen_add_gaussian_noise(inputs, tf.cast(seed, tf.int64),
                                                tf.constant(stddev, tf.float32))


def scale_bias_relu_noise(products, column_scales, bias, seed, stddev):
    """relu(products · column_scales + bias) + stddev · N(0, 1) in one op (no draw when stddev is 0); the
    normals are those `add_gaussian_noise` would add to the activations with the same seed."""
    # The scales and bias are float32 whatever the products' dtype: a [units] cast costs nothing.
    return _loaded().ssl_gen_scale_bias_relu_noise(products, tf.cast(column_scales, tf.float32),
                                                   tf.cast(bias, tf.float32), tf.cast(seed, tf.int64),
                                                   tf.constant(stddev, tf.float32))


def apply_adam(variables, momentums, velocities, gradients, learning_rate, beta_1, beta_2, epsilon,
               beta_1_power, beta_2_power):
    """ResourceApplyAdam's update of every (variable, m, v) with its gradient, in one op (tf.Variables)."""
    floats = [tf.cast(value, tf.float32) for value in (learning_rate, beta_1, beta_2, epsilon, beta_1_power,
                                                        beta_2_power)]
    return _loaded().ssl_gen_apply_adam([v.handle for v in variables], [m.handle for m in momentums],
                                        [v.handle for v in velocities], gradients, *floats)


def moving_average(averages, values, decay):
    """average ← decay · average + (1 − decay) · value for every tf.Variable `averages` [i], in one op."""
    return _loaded().ssl_gen_moving_average([a.handle for a in averages], values, tf.cast(decay, tf.float32))


def add_scaled_columns(gradient, kernel, column_scales):
    """gradient + kernel · column_scales (per column j), in one pass where the kernel is native; a
    None gradient counts as zero."""
    kernel = tf.convert_to_tensor(kernel)
    if gradient is None:
        return kernel * column_scales
    if supports(kernel.dtype) and supports(gradient.dtype):
        return library().ssl_gen_add_scaled_columns(gradient, kernel, column_scales)
    return gradient + kernel * column_scales


def _loaded():
    ops = library()
    if ops is None:
        raise RuntimeError(f"the native ops are not loaded ({ENV_MODE}={mode()}); check supports() first")
    return ops


def column_norms(kernel):
    """‖v_j‖ for each column j of a [fan_in, units] kernel, in one read of it where the kernel is native."""
    if supports(kernel.dtype):
        return library().ssl_gen_column_norms(kernel)
    return tf.norm(kernel, axis=0)


@tf.RegisterGradient("SslGenAddGaussianNoise")
def _add_gaussian_noise_gradient(op, grad):
    del op  # the noise is additive: the gradient passes through unchanged
    return [grad, None, None]


@tf.RegisterGradient("SslGenColumnNorms")
def _column_norms_gradient(op, grad):
    kernel, norms = op.inputs[0], op.outputs[0]
    return [library().ssl_gen_scale_columns(kernel, grad / norms)]  # d‖v_j‖/dv_j = v_j / ‖v_j‖


@tf.RegisterGradient("SslGenScaleBiasReluNoise")
def _scale_bias_relu_noise_gradient(op, grad):
    products, column_scales, bias = op.inputs[:3]
    return [*library().ssl_gen_scale_bias_relu_grad(grad, products, column_scales, bias), None, None]
