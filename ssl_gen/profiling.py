"""Throughput: this machine's dense-matmul peak, a train step's FLOPs, and the fraction of peak it gets.

FLOPs are counted by TensorFlow's graph profiler on the step's concrete function (every MatMul and
Conv2D of the forward and backward passes plus the element-wise ops), so the count follows whatever
networks and batch the config builds.
"""

import collections
import contextlib
import os
import time

import keras
import numpy as np
import tensorflow as tf

from ssl_gen import data as data_lib
from ssl_gen import methods
from ssl_gen.models import layers
from ssl_gen.training import precision
from ssl_gen.training.trainer import resolve_jit_compile


def _usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def matmul_peak_by_chains(size=2048, dtype=tf.float32, seconds=3.0, chain_counts=None):
    """{chains: FLOP/s} of independent chains of size×size matmuls run at once, best of timed blocks.
    The machine's dense-matmul peak is the best of these rates.

    One chain alone can use the cores only through a matmul's own threads; with one intra-op thread
    (TF_NUM_INTRAOP_THREADS=1) the step still spreads independent ops over the inter-op threads, and a
    single chain would then measure one core's peak against a step that uses them all. So a chain per
    core is timed too.
    """
    counts = chain_counts or sorted({1, _usable_cores()})
    return {chains: _chain_rate(size, dtype, seconds, chains) for chains in counts}


def matmul_chains(size, chains, repeats=10):
    """A tf.function of `chains` independent chains of `repeats` matmuls, and its FLOPs per call.

    Each product feeds the next and every result is summed, so no matmul can be skipped; B is scaled
    by 1/√size so the chains neither overflow nor vanish.
    """
    @tf.function
    def block(starts, b):
        total = tf.constant(0.0)
        for a in starts:
            for _ in range(repeats):
                a = tf.matmul(a, b)
            total += tf.reduce_sum(tf.cast(a, tf.float32))
        return total

    return block, chains * repeats * 2 * size ** 3


def _chain_rate(size, dtype, seconds, chains):
    starts = [tf.cast(tf.random.normal((size, size)), dtype) for _ in range(chains)]
    b = tf.cast(tf.random.normal((size, size)) / size ** 0.5, dtype)
    block, flops = matmul_chains(size, chains)
    block(starts, b).numpy()
    best, deadline = 0.0, time.time() + seconds
    while time.time() < deadline:
        start = time.perf_counter()
        block(starts, b).numpy()
        best = max(best, flops / (time.perf_counter() - start))
    return best


def graph_flops(concrete_function):
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(concrete_function.graph, options=options).total_float_ops


def measure_train_step(config, data, steps=200, warmup=20, removed=(), matmul_shapes=False):
    """Returns {step_flops, steps_per_second, achieved_flops, matmul_flops, matmul_seconds} of `config`'s
    train step on `data`; `removed` names work to leave out (see `REMOVABLE`) for an upper bound;
    `matmul_shapes` adds `time_matmul_shapes`' table as `matmul_shapes`."""
    with leave_out(removed):
        step, iterator = prepared_step(config, data, cache_one_batch="input_pipeline" in removed)
        concrete = step.get_concrete_function(*next(iterator))
        flops = graph_flops(concrete)
        run_steps(step, iterator, warmup)
        start = time.perf_counter()
        run_steps(step, iterator, steps)
        rate = steps / (time.perf_counter() - start)
    shapes = {"matmul_shapes": time_matmul_shapes(concrete)} if matmul_shapes else {}
    return {"step_flops": flops, "steps_per_second": rate, "achieved_flops": flops * rate,
            **time_matmuls_alone(concrete), **shapes}


def prepared_step(config, data, cache_one_batch=False):
    """(train step as a tf.function, batch iterator) for `config` on `data`, its method built and
    initialised as a fresh run's."""
    with precision.policy(precision.of_config(config)):
        method = methods.create(config, data.spec, total_steps=10 ** 6)
        method.build()
    labeled_indices = data_lib.balanced_labeled_indices(data.y_train, config.num_labeled,
                                                        data.spec.num_classes, config.seed)
    dataset = data_lib.train_dataset(data, labeled_indices, config.batch_size, config.seed,
                                     method.unlabeled_views, method.latent_dim)
    if cache_one_batch:
        dataset = dataset.take(1).cache().repeat()
    iterator = iter(dataset)
    method.initialize(next(iterator)[1]["image"])
    return tf.function(method.train_step, jit_compile=resolve_jit_compile(config.jit_compile)), iterator


def run_steps(step, iterator, count):
    for _ in range(count):
        _block_on(step(*next(iterator)))


def time_matmuls_alone(concrete_function, repeats=20, rounds=3):
    """{matmul_flops, matmul_seconds}: the graph's MatMuls run alone, at their shapes, on random inputs.

    This is the step's ceiling: however cheap everything else became, the step could not beat its
    matmuls, and small matmuls reach less of the peak than the 2048² ones that define it.
    """
    products = [_random_operands(op) for op in _matmuls(concrete_function)]
    if not products:
        return {"matmul_flops": 0, "matmul_seconds": 0.0}
    return {"matmul_flops": sum(_matmul_flops(*product) for product in products),
            "matmul_seconds": _best_seconds(_corner_sum(products), repeats, rounds)}


def ceiling_with_matmuls_at_peak(step, peak):
    """{other_work_seconds, ceiling_with_matmuls_at_peak} of `measure_train_step`'s result: the step's
    time beyond its matmuls run alone, and the fraction of `peak` (FLOP/s) it would reach were its
    matmuls at the peak and the rest as timed.

    The other side of `time_matmuls_alone`'s bound: no matmul kernel, however fast, lifts the step past
    this, because its other work stays.
    """
    other_seconds = max(1.0 / step["steps_per_second"] - step["matmul_seconds"], 0.0)
    seconds = other_seconds + step["matmul_flops"] / peak
    return {"other_work_seconds": other_seconds,
            "ceiling_with_matmuls_at_peak": step["step_flops"] / seconds / peak}


def time_matmul_shapes(concrete_function, copies=10, repeats=10, rounds=3):
    """The graph's MatMuls grouped by shapes, transposes and dtype, each group's product timed alone:
    [{a_shape, b_shape, transpose_a, transpose_b, dtype, count, flops, seconds}], `seconds` per product,
    slowest group (count × seconds) first. Which shapes keep the step's matmuls from the peak.

    Each timed call runs `copies` products on distinct random operands: on one operand pair TensorFlow
    would compute the product once for all of them.
    """
    groups = collections.defaultdict(list)
    for op in _matmuls(concrete_function):
        a, b = op.inputs
        groups[(tuple(a.shape), tuple(b.shape), op.get_attr("transpose_a"), op.get_attr("transpose_b"),
                a.dtype)].append(op)
    rows = []
    for (a_shape, b_shape, transpose_a, transpose_b, dtype), ops in groups.items():
        products = [_random_operands(ops[0]) for _ in range(copies)]
        seconds = _best_seconds(_corner_sum(products), repeats, rounds) / copies
        rows.append({"a_shape": list(a_shape), "b_shape": list(b_shape), "transpose_a": transpose_a,
                     "transpose_b": transpose_b, "dtype": dtype.name, "count": len(ops),
                     "flops": _matmul_flops(*products[0]), "seconds": seconds})
    return sorted(rows, key=lambda row: -row["count"] * row["seconds"])


def _matmuls(concrete_function):
    return [op for op in concrete_function.graph.get_operations() if op.type == "MatMul"]


def _corner_sum(products):
    """A function that multiplies each (a, b, transpose_a, transpose_b) of `products` and sums a corner of
    each: none is pruned, and no pass over any output is added. The corners are summed in float32, since
    under mixed precision the output layers' matmuls are float32 and the rest bfloat16."""
    @tf.function
    def run():
        return tf.add_n([tf.cast(tf.matmul(a, b, transpose_a=ta, transpose_b=tb)[0, 0], tf.float32)
                         for a, b, ta, tb in products])
    return run


def _best_seconds(function, repeats, rounds):
    """Fastest mean time of `function()`, a tensor, over `rounds` blocks of `repeats` calls, after one
    untimed call that traces it."""
    function().numpy()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            result = function()
        result.numpy()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def _random_operands(op):
    a, b = (tf.random.normal(tensor.shape, dtype=tensor.dtype) for tensor in op.inputs)
    return a, b, op.get_attr("transpose_a"), op.get_attr("transpose_b")


def _matmul_flops(a, b, transpose_a, transpose_b):
    rows, inner = reversed(a.shape) if transpose_a else a.shape
    columns = b.shape[0] if transpose_b else b.shape[1]
    return 2 * rows * inner * columns


# Work that `measure_train_step(removed=…)` can leave out. The step then no longer trains as it should:
# the figure is how fast it would be were that work free, which says where the time goes.
REMOVABLE = ("noise", "weight_norm", "optimizer", "input_pipeline")


@contextlib.contextmanager
def leave_out(removed):
    """Within this context, the named parts of `REMOVABLE` (bar the input pipeline) do no work."""
    unknown = set(removed) - set(REMOVABLE)
    if unknown:
        raise ValueError(f"removed must name parts of {REMOVABLE}; received {sorted(unknown)}")
    patches = []
    if "noise" in removed:
        patches.append((layers.GaussianNoise, "active", lambda self, training: False))
    if "weight_norm" in removed:
        patches.append((layers.WeightNormDense, "unit_scale", lambda self: self.scale))
    if "optimizer" in removed:
        patches.append((keras.optimizers.Adam, "update_step", _zero_update))
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    try:
        for owner, name, replacement in patches:
            setattr(owner, name, replacement)
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def _zero_update(self, gradient, variable, learning_rate):
    # The cheapest update that still reads the gradient, so its computation is not pruned.
    variable.assign_add(0.0 * tf.cast(gradient, variable.dtype))


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


# Where `perf` puts code that oneDNN compiles at run time: its matmul kernels.
JIT_DSO = "[JIT]"


def perf_cpu_per_step(report, steps, sampling_hz, top=12):
    """{matmul_ms, other_ms, top_other: [[ms, symbol]…]}: CPU per step from the text of
    `perf report --sort dso,symbol -F sample,dso,symbol -q -g none`, one sample being 1/sampling_hz s of
    one thread's CPU. JIT-compiled code is oneDNN's matmul kernels; everything else is the rest of the step."""
    to_ms = 1000.0 / sampling_hz / steps
    matmul, other = 0, {}
    for line in report.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        samples, dso, symbol = int(fields[0]), fields[1], fields[2]
        if dso.startswith(JIT_DSO):
            matmul += samples
        else:
            # "[.] name" / "[k] name", perhaps followed by perf's "- -" columns and its JIT thread tag
            name = symbol.split("]", 1)[-1].strip().rsplit(" - ", 1)[0].strip()
            other[name] = other.get(name, 0) + samples
    ranked = sorted(other.items(), key=lambda item: -item[1])[:top]
    return {"matmul_ms": round(matmul * to_ms, 2), "other_ms": round(sum(other.values()) * to_ms, 2),
            "top_other": [[round(samples * to_ms, 2), name[:120]] for name, samples in ranked]}
