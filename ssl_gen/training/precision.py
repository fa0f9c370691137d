"""Compute precision: Keras' dtype policy for a run's networks, chosen by the run's config.

A run's networks are built inside `policy(...)` rather than under a changed global policy, so an
in-process caller (the Python API, a test, a notebook) keeps the policy it had.
"""

import contextlib
import functools

import keras
import tensorflow as tf

MIXED = "mixed_bfloat16"
FULL = "float32"
# CPU flags of native bfloat16 arithmetic (Intel AMX, AVX512-BF16); without them bfloat16 is emulated
# and slower than float32.
_CPU_BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")
# Ampere and later compute bfloat16 natively.
_GPU_BFLOAT16_CAPABILITY = (8, 0)


@functools.lru_cache(maxsize=None)
def native_bfloat16():
    """Whether every GPU here, or the CPU where there is none, computes bfloat16 natively."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
                        for gpu in gpus]
        return all(tuple(capability) >= _GPU_BFLOAT16_CAPABILITY for capability in capabilities)
    return _cpu_has_bfloat16()


def _cpu_has_bfloat16(cpuinfo_path="/proc/cpuinfo"):
    try:
        with open(cpuinfo_path) as file:
            flags = next((line.split(":", 1)[1].split() for line in file if line.startswith("flags")), [])
    except OSError:  # not Linux: stay with float32, which is right everywhere
        return False
    return any(flag in flags for flag in _CPU_BFLOAT16_FLAGS)


def of_config(config):
    """The dtype policy name of a run's config."""
    return MIXED if config.mixed_precision else FULL


@contextlib.contextmanager
def policy(name):
    """Keras layers made inside compute with dtype policy `name`; the previous global policy returns after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
