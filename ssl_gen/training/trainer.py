"""The method-agnostic training loop: strategy, checkpoint/resume, logging, evaluation, NaN guard, signals."""

import math
import os
import signal
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from ssl_gen import seeds
from ssl_gen.training import distribute
from ssl_gen.errors import TrainingError

CHECKPOINT_DIR = "checkpoints"


def resolve_jit_compile(setting):
    """'auto' → XLA on GPU only: on this project's CPUs a GAN step measured slower with XLA."""
    if setting == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return setting == "true"


def make_checkpoint(method, step):
    return tf.train.Checkpoint(step=step, **{name: trackable(item)
                                             for name, item in method.checkpoint_items().items()})


def trackable(item):
    """Keras 3 models keep sub-layers in lists that tf.train.Checkpoint does not follow, so a built
    model is saved as its ordered list of variables (the order is fixed by the model's construction)."""
    if isinstance(item, keras.Model):
        return tf.train.Checkpoint(variables=[weight.value for weight in item.weights])
    return item


def restore_newest_readable(checkpoint, checkpoint_dir):
    """Restores the newest checkpoint of `checkpoint_dir` that reads, skipping broken ones (e.g. cut short
    by a full disk) with a warning that names them.

    Returns:
      The restored checkpoint's path, or None when the directory holds no checkpoint.
    Raises:
      TrainingError: there are checkpoints and none of them reads.
    """
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    if state is None:
        return None
    broken = []
    for path in reversed(list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]):
        try:
            checkpoint.restore(path).assert_existing_objects_matched()
            return path
        # TensorFlow reports a short read as IndexError ("Read less bytes than requested").
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:
            logging.warning("checkpoint %s does not read (%s); trying the one before it", path,
                            str(error).strip().splitlines()[0][:200])
            broken.append(path)
    raise TrainingError(f"no checkpoint in {checkpoint_dir!r} reads ({', '.join(broken)}); "
                        f"start again in a new --output_dir")


class _StopRequest:
    """SIGINT/SIGTERM ask the loop to save a checkpoint and return at the next step."""

    def __init__(self):
        self.signal = None

    def __enter__(self):
        self._previous = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[number] = signal.signal(number, self._handle)
            except ValueError:  # Not the main thread: leave signals alone.
                pass
        return self

    def _handle(self, number, frame):
        self.signal = signal.Signals(number).name

    def __exit__(self, *exc):
        for number, handler in self._previous.items():
            signal.signal(number, handler)


class Trainer:
    """Runs `method.train_step` under a tf.distribute strategy until `total_steps`.

    `make_dataset(seed, input_context)` returns one input pipeline's zipped (labeled, unlabeled)
    dataset, batched per replica; on resume the seed is folded with the resumed step, so a resumed run
    draws fresh, reproducible batches. `evaluate(step) -> dict` is called every `eval_every` steps and
    at the end, on the chief only, which alone writes logs; every worker saves checkpoints (saving is
    collective), the others into `workers/TASK_ID/`, and every worker resumes from the chief's.
    """

    def __init__(self, method, config, run_dir, make_dataset, evaluate, metrics_csv_factory,
                 tensorboard, strategy=None):
        self.method, self.config, self.run_dir = method, config, run_dir
        self.make_dataset, self.evaluate = make_dataset, evaluate
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = distribute.is_chief(self.strategy)
        self.metrics_csv_factory = metrics_csv_factory if self.chief else _NoMetrics
        self.tensorboard = tensorboard if self.chief else _NoMetrics()
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # Variables and optimiser slots must exist before the checkpoint lists them and before a
        # restore (optimiser state would otherwise silently reset).
        with self.strategy.scope():
            method.build()
        self.checkpoint = make_checkpoint(method, self.step)
        self.checkpoint_dir = os.path.join(run_dir, CHECKPOINT_DIR)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, self.checkpoint_dir if self.chief else worker_checkpoint_dir(
                run_dir, distribute.task(self.strategy)[1]),
            max_to_keep=config.keep_checkpoints if self.chief else 1)

    def restore_or_initialize(self, initial_images):
        """Restores the chief's newest readable checkpoint, or initialises the method from data. Returns
        the start step."""
        restored = restore_newest_readable(self.checkpoint, self.checkpoint_dir)
        if restored:
            logging.info("resumed from %s at step %d", restored, int(self.step))
        else:
            self.method.initialize(initial_images)
        return int(self.step.numpy())

    def fit(self, total_steps, start_step):
        config = self.config
        if start_step >= total_steps:
            logging.info("run already at step %d of %d; nothing to train", start_step, total_steps)
            return
        seed = seeds.derive(config.seed, "input", start_step)  # a resumed run draws new batches
        iterator = iter(self.strategy.distribute_datasets_from_function(
            lambda input_context: self.make_dataset(seed, input_context)))
        step_fn = tf.function(self._distributed_step,
                              jit_compile=resolve_jit_compile(config.jit_compile))
        metrics_csv = self.metrics_csv_factory(start_step)
        running, averages, window_start, window_steps = {}, {}, time.time(), 0
        started = time.time()
        with _StopRequest() as stop:
            for step in range(start_step + 1, total_steps + 1):
                losses = {name: float(value) for name, value in step_fn(*next(iterator)).items()}
                _check_finite(losses, step, self.manager.latest_checkpoint)
                self.step.assign(step)
                for name, value in losses.items():
                    running[name] = running.get(name, 0.0) + value
                window_steps += 1
                # Read once: a signal landing between two reads would skip the save yet return.
                stopping = stop.signal
                last = step == total_steps or stopping is not None
                if step % config.log_every == 0 or last:
                    steps_per_second = window_steps / max(time.time() - window_start, 1e-9)
                    averages = {name: total / window_steps for name, total in running.items()}
                    # The whole run's pace so far, evaluations and checkpoints included.
                    remaining = (total_steps - step) * (time.time() - started) / (step - start_step)
                    self._log(step, total_steps, averages, steps_per_second, remaining)
                    _check_not_collapsed(self.method.collapse_loss, averages, step, config,
                                         self.manager.latest_checkpoint)
                    running, window_start, window_steps = {}, time.time(), 0
                if self.chief and (step % config.eval_every == 0 or last):
                    metrics = self.evaluate(step)
                    self.tensorboard.scalars(step, metrics)
                    metrics_csv.append(step, time.time() - started, {**averages, **metrics})
                    logging.info("step %d: %s", step, _format(metrics))
                if step % config.checkpoint_every == 0 or last:
                    self.manager.save(checkpoint_number=step)
                if stopping is not None:
                    logging.warning("%s received: saved a checkpoint at step %d and stopped", stopping, step)
                    return stopping
        return None

    def _distributed_step(self, labeled, unlabeled):
        per_replica = self.strategy.run(self.method.train_step, args=(labeled, unlabeled))
        return {name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                for name, value in per_replica.items()}

    def _log(self, step, total_steps, averages, steps_per_second, remaining_seconds):
        self.tensorboard.scalars(step, {**averages, "perf/steps_per_second": steps_per_second})
        main = {name: value for name, value in averages.items() if name.count("/") == 1}
        logging.info("step %d/%d (%.1f steps/s, ETA %s) %s", step, total_steps, steps_per_second,
                     format_duration(remaining_seconds), _format(main))


def format_duration(seconds):
    """'1h 05m', '12m 30s' or '45s'."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def worker_checkpoint_dir(run_dir, task_id):
    return os.path.join(run_dir, "workers", str(task_id), CHECKPOINT_DIR)


class _NoMetrics:
    """What a non-chief worker writes: nothing."""

    def __init__(self, *args):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _check_finite(losses, step, last_checkpoint):
    bad = sorted(name for name, value in losses.items() if not math.isfinite(value))
    if bad:
        values = ", ".join(f"{name}={losses[name]}" for name in bad)
        raise TrainingError(f"non-finite loss at step {step}: {values}. Training stopped; the last good "
                            f"checkpoint ({last_checkpoint or 'none yet'}) was left in place. "
                            "Try a lower --learning_rate.")


def _check_not_collapsed(loss_name, averages, step, config, last_checkpoint):
    value = averages.get(loss_name)
    if (value is None or not config.collapse_threshold or step < config.collapse_check_after
            or value >= config.collapse_threshold):
        return
    raise TrainingError(
        f"the GAN game collapsed by step {step}: {loss_name}={value:.3g} (mean of the last "
        f"{config.log_every} steps) is below --collapse_threshold={config.collapse_threshold}, so C tells "
        f"G's images from real ones perfectly and stops learning from unlabeled images. Training stopped; "
        f"the latest checkpoint ({last_checkpoint or 'none yet'}) and the {config.keep_checkpoints - 1} "
        "before it were left in place. Resuming from them repeats the collapse (it is set by the weights, "
        "not by the later batches). Check that --independent_generator_step is on (the default), then start "
        "again in a new --output_dir with --generator_tanh_scale=0.5 (the anchors' sigmoid output) or "
        "another --seed, or pass --collapse_threshold=0 to train on.")


def _format(values):
    return " ".join(f"{name}={value:.4g}" for name, value in sorted(values.items())
                    if np.isscalar(value))
