"""Throughput: this machine's dense-matmul peak, a train step's FLOPs, and the fraction of peak it gets.

FLOPs are counted by TensorFlow's graph profiler on the step's concrete function (every MatMul and
Conv2D of the forward and backward passes plus the element-wise ops), so the count follows whatever
networks and batch the config builds.
"""

import time

import numpy as np
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from ssl_gen import data as data_lib
from ssl_gen import methods
from ssl_gen.trainer import resolve_jit_compile


def matmul_peak(size=2048, dtype=tf.float32, seconds=3.0):
    """FLOP/s of a chain of size×size matmuls (2·size³ FLOPs each), best of several timed blocks.

    Each product feeds the next and the whole result is summed, so no matmul can be skipped; B is
    scaled by 1/√size so the chain neither overflows nor vanishes.
    """
    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)) / size ** 0.5, dtype)
    repeats = 10

    @tf.function
    def block(a, b):
        for _ in range(repeats):
            a = tf.matmul(a, b)
        return tf.reduce_sum(tf.cast(a, tf.float32))

    block(a, b).numpy()
    best, deadline = 0.0, time.time() + seconds
    while time.time() < deadline:
        start = time.perf_counter()
        block(a, b).numpy()
        best = max(best, repeats * 2 * size ** 3 / (time.perf_counter() - start))
    return best


def graph_flops(concrete_function):
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(concrete_function.graph, options=options).total_float_ops


def measure_train_step(config, data, steps=200, warmup=20):
    """Returns {step_flops, steps_per_second, achieved_flops} of `config`'s train step on `data`."""
    method = methods.create(config, data.spec, total_steps=10 ** 6)
    method.build()
    labeled_indices = data_lib.balanced_labeled_indices(data.y_train, config.num_labeled,
                                                        data.spec.num_classes, config.seed)
    dataset = data_lib.train_dataset(data, labeled_indices, config.batch_size, config.seed,
                                     method.unlabeled_views, method.latent_dim)
    iterator = iter(dataset)
    labeled, unlabeled = next(iterator)
    method.initialize(unlabeled["image"])
    step = tf.function(method.train_step, jit_compile=resolve_jit_compile(config.jit_compile))
    flops = graph_flops(step.get_concrete_function(labeled, unlabeled))
    for _ in range(warmup):
        _block_on(step(*next(iterator)))
    start = time.perf_counter()
    for _ in range(steps):
        _block_on(step(*next(iterator)))
    rate = steps / (time.perf_counter() - start)
    return {"step_flops": flops, "steps_per_second": rate, "achieved_flops": flops * rate}


def _block_on(losses):
    # The trainer reads every loss each step (NaN guard), which also waits for the step to finish.
    return {name: float(value) for name, value in losses.items()}


def synthetic_data(image_shape, num_classes, train_size=10000, test_size=100, seed=0):
    """Random uint8 images of a data set's shape: step time does not depend on the pixels."""
    rng = np.random.default_rng(seed)
    return data_lib.from_arrays(
        "synthetic",
        x_train=rng.integers(0, 256, (train_size,) + tuple(image_shape), dtype=np.uint8),
        y_train=np.arange(train_size) % num_classes,
        x_test=rng.integers(0, 256, (test_size,) + tuple(image_shape), dtype=np.uint8),
        y_test=np.arange(test_size) % num_classes)
