"""CPU per train step and where it goes: the timed steps alone, sampled by Linux `perf` where installed.

python benchmarks/cpu_profile.py --data_path=../shared/data/mnist.npz [--steps=300] [--preset=…]
Prints one JSON line: ms of wall and of CPU (all threads) per step, the cores kept busy, and with `perf`
(`apt install linux-perf`) the CPU per step in oneDNN's JIT-compiled matmul kernels, outside them, and the
largest costs outside them by symbol. Any training flag applies, as in benchmarks/throughput.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

from ssl_gen import profiling  # noqa: E402
from ssl_gen.training import cli, runs  # noqa: E402

cli.define_config_flags()
flags.DEFINE_integer("steps", 300, "Profiled train steps (after --warmup).")
flags.DEFINE_integer("warmup", 30, "Untimed train steps first (tracing, caches).")
flags.DEFINE_integer("sampling_hz", 999, "perf's samples per second of each thread's CPU.")
flags.DEFINE_integer("top", 12, "How many of the largest costs outside the matmuls to list.")
flags.DEFINE_bool("perf", True, "Sample the steps with Linux perf where it is installed.")

PERF_ATTACH_SECONDS = 1.0


def main(argv):
    del argv
    FLAGS = flags.FLAGS
    config = cli.config_from_flags(FLAGS)
    step, iterator = profiling.prepared_step(config, runs.load_data(config))
    profiling.run_steps(step, iterator, FLAGS.warmup)
    perf = shutil.which("perf") if FLAGS.perf else None
    with tempfile.TemporaryDirectory() as scratch:
        recording = _start_perf(perf, os.path.join(scratch, "perf.data"), FLAGS.sampling_hz) if perf else None
        wall, cpu = time.perf_counter(), time.process_time()
        profiling.run_steps(step, iterator, FLAGS.steps)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        result = {"preset": config.preset or "default", "batch_size": config.batch_size,
                  "steps": FLAGS.steps,
                  "ms_per_step": round(1000 * wall / FLAGS.steps, 2),
                  "cpu_ms_per_step": round(1000 * cpu / FLAGS.steps, 2), "cores_busy": round(cpu / wall, 3)}
        if recording:
            result.update(_stop_perf(perf, recording, FLAGS.steps, FLAGS.sampling_hz, FLAGS.top))
    print(json.dumps(result))


def _start_perf(perf, path, sampling_hz):
    process = subprocess.Popen([perf, "record", "-F", str(sampling_hz), "-p", str(os.getpid()), "-o", path],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(PERF_ATTACH_SECONDS)
    return process, path


def _stop_perf(perf, recording, steps, sampling_hz, top):
    process, path = recording
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=120)
    if not os.path.exists(path):  # e.g. perf_event_paranoid forbids it here
        return {"perf_error": errors.strip()[-500:]}
    report = subprocess.run([perf, "report", "-i", path, "--no-children", "--sort", "dso,symbol", "-F",
                             "sample,dso,symbol", "-q", "-g", "none"], capture_output=True, text=True,
                            timeout=600).stdout
    return {"perf": profiling.perf_cpu_per_step(report, steps, sampling_hz, top)}


if __name__ == "__main__":
    flags.FLAGS.set_default("output_dir", "unused")
    app.run(main)
