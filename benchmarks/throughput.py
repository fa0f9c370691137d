"""Throughput benchmark: matmul peak of this machine, the train step's FLOP/s, and their ratio.

python benchmarks/throughput.py --data_path=../shared/data/mnist.npz              # default MNIST config
python benchmarks/throughput.py --preset=cifar4000 --synthetic_shape=32,32,3      # CIFAR-10 step time
Any training flag applies (--batch_size, --mixed_precision, --jit_compile, …). Prints one JSON line.
It also times the step's matmuls alone (the ceiling no other change can lift) and, from that, the
step's other work and the ceiling no faster matmul can lift (ceiling_with_matmuls_at_peak: the matmuls
at the peak, the rest as timed). --remove=noise,… times the step with that work left out: an upper
bound, not a configuration (the step then trains wrong).
--matmul_shapes also times each distinct matmul of the step alone: which shapes keep the ceiling low.
TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS limit both the peak and the step; the line records them.
The peak is the best of one chain of matmuls and of one chain per core run at once (by chain count in
matmul_peak_gflops_by_chains), so a step that spreads one-thread ops over the cores is held to the
whole machine's peak. The FLOP count is TensorFlow's graph profiler's.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from ssl_gen import profiling  # noqa: E402
from ssl_gen.training import cli, runs  # noqa: E402

cli.define_config_flags()
flags.DEFINE_integer("steps", 200, "Timed train steps (after --warmup).")
flags.DEFINE_integer("warmup", 20, "Untimed train steps first (tracing, caches).")
flags.DEFINE_list("synthetic_shape", [], "Time on random images of this shape (e.g. 32,32,3) instead of "
                                         "loading the data set; step time does not depend on pixels.")
flags.DEFINE_integer("synthetic_classes", 10, "Classes of the synthetic data.")
flags.DEFINE_integer("matmul_size", 2048, "Side of the square matmuls that measure the peak.")
flags.DEFINE_list("remove", [], f"Work to leave out of the step, of {', '.join(profiling.REMOVABLE)}: "
                                "how fast the step would be were it free (it no longer trains).")
flags.DEFINE_bool("matmul_shapes", False, "Also time each distinct matmul of the step alone and print its "
                                          "fraction of the peak: which shapes hold the ceiling down.")


def main(argv):
    del argv
    FLAGS = flags.FLAGS
    config = cli.config_from_flags(FLAGS)
    if FLAGS.synthetic_shape:
        data = profiling.synthetic_data([int(side) for side in FLAGS.synthetic_shape], FLAGS.synthetic_classes)
    else:
        data = runs.load_data(config)
    dtype = tf.bfloat16 if config.mixed_precision else tf.float32
    peaks = profiling.matmul_peak_by_chains(FLAGS.matmul_size, dtype)
    peak = max(peaks.values())
    step = profiling.measure_train_step(config, data, FLAGS.steps, FLAGS.warmup, FLAGS.remove,
                                        FLAGS.matmul_shapes)
    print(json.dumps({
        "preset": config.preset or "default", "architecture": config.networks.architecture,
        "image_shape": list(data.spec.image_shape), "batch_size": config.batch_size,
        "dtype": dtype.name, "jit_compile": config.jit_compile, "threads": os.cpu_count(),
        "intra_op_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
        "inter_op_threads": os.environ.get("TF_NUM_INTEROP_THREADS", "default"),
        "matmul_peak_gflops": round(peak / 1e9, 2),
        "matmul_peak_gflops_by_chains": {chains: round(rate / 1e9, 2) for chains, rate in peaks.items()},
        "step_gflop": round(step["step_flops"] / 1e9, 3),
        "steps_per_second": round(step["steps_per_second"], 2),
        "seconds_per_step": round(1.0 / step["steps_per_second"], 4),
        "achieved_gflops": round(step["achieved_flops"] / 1e9, 3),
        "fraction_of_peak": round(step["achieved_flops"] / peak, 4), "removed": FLAGS.remove,
        **_matmul_ceiling(step, peak), **_shape_fractions(step, peak)}))


def _matmul_ceiling(step, peak):
    # Only where matmuls are nearly all of the step (the MLPs): a conv net's ceiling is its convolutions.
    if step["matmul_flops"] < 0.9 * step["step_flops"]:
        return {"matmul_gflop": round(step["matmul_flops"] / 1e9, 3)}
    return {"matmul_gflop": round(step["matmul_flops"] / 1e9, 3),
            "matmuls_alone_seconds": round(step["matmul_seconds"], 4),
            "matmuls_alone_fraction_of_peak": round(step["matmul_flops"] / step["matmul_seconds"] / peak, 4),
            # Were everything but the matmuls free, the step would take their time alone.
            "ceiling_fraction_of_peak": round(step["step_flops"] / step["matmul_seconds"] / peak, 4),
            **{name: round(value, 4)
               for name, value in profiling.ceiling_with_matmuls_at_peak(step, peak).items()}}


def _shape_fractions(step, peak):
    if "matmul_shapes" not in step:
        return {}
    return {"matmul_shapes": [{**row, "seconds": round(row["seconds"], 7),
                               "fraction_of_peak": round(row["flops"] / row["seconds"] / peak, 4)}
                              for row in step["matmul_shapes"]]}


if __name__ == "__main__":
    flags.FLAGS.set_default("output_dir", "unused")
    app.run(main)
