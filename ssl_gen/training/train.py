"""Train one run: config → data → split → method → trainer."""

import contextlib
import os
import tempfile

import numpy as np
from absl import flags, logging

from ssl_gen.training import config as config_lib
from ssl_gen import data as data_lib
from ssl_gen import methods
from ssl_gen.training import distribute, precision, runs
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError, Stopped
from ssl_gen.evaluation import classifier_metrics, generator_metrics
from ssl_gen.evaluation import evaluator as evaluator_lib
from ssl_gen.evaluation import images as sample_images
from ssl_gen.training.metrics_log import MetricsCsv, TensorBoard
from ssl_gen.training.trainer import Trainer

INIT_BATCH = 500  # improved-gan initialises weight norm from 500 training images.
# The init draw's own numpy stream, apart from the split's.
_INIT_STREAM = 2
# Without a validation split, a cheap conditional accuracy; experiments/evaluate.py uses 1,000 per class.
TRAINING_SAMPLES_PER_CLASS = 50


def run(config):
    """Trains (or resumes) the run in `config.output_dir`. Returns the final evaluation metrics; raises
    `Stopped` when SIGINT or SIGTERM ended training early (after saving a checkpoint)."""
    _show_progress()
    config.validate()
    with precision.policy(precision.of_config(config)):
        return _train(config)


def _train(config):
    # First: MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    strategy = distribute.make_strategy(config.strategy, config.tpu)
    chief = distribute.is_chief(strategy)
    logging.info("strategy %s: %d replicas in sync%s", config.strategy, strategy.num_replicas_in_sync,
                 "" if chief else " (non-chief worker: writes no logs)")
    run_dir = config.output_dir
    # Every check runs before the first write, so a refused start leaves the directory as it was and the
    # corrected command finds nothing to clash with.
    with _removed_if_start_fails(run_dir):
        _check_writable(run_dir)
        changes = config_lib.check_against_saved(config, run_dir)
        _refuse_changes_the_method_cannot_adopt(config, changes)
        data = runs.load_data(config)
        # Before the test arrays are dropped: the evaluator's fingerprint covers the whole data set.
        evaluator = _find_evaluator(config, data) if chief else None
        data = data_lib.without_test_set(data)  # nothing in training can read them
        validation_size = data_lib.resolve_validation_size(config.validation_size, len(data.x_train))
        split = data_lib.load_or_create_split(run_dir, data.y_train, config.num_labeled,
                                              data.spec.num_classes, config.seed, validation_size, write=False)
        total_steps = config.total_steps(len(split.unlabeled))
        with strategy.scope():
            method = methods.create(config, data.spec, total_steps)
    if chief:
        data_lib.save_split(run_dir, split)
        config_lib.save(config, run_dir)
    logging.info("data %s: %d training images of shape %s, %d classes: %d labeled, %d unlabeled, %d held "
                 "out for validation; %d steps", data.spec.name, len(data.x_train), data.spec.image_shape,
                 data.spec.num_classes, len(split.labeled), len(split.unlabeled), len(split.validation),
                 total_steps)
    tensorboard = TensorBoard(run_dir) if chief else None
    final_metrics = {}

    reference = _validation_reference(evaluator, data, split.validation)

    def evaluate(step):
        final_metrics.clear()
        final_metrics.update(evaluate_during_training(method, data, split.validation, run_dir, step,
                                                      tensorboard, evaluator, reference))
        return final_metrics

    def make_dataset(seed, input_context=None):
        return data_lib.train_dataset(data, split.labeled, config.batch_size, seed, method.unlabeled_views,
                                      method.latent_dim, input_context, unlabeled_indices=split.unlabeled)

    trainer = Trainer(method, config, run_dir, make_dataset, evaluate,
                      lambda start: MetricsCsv(run_dir, start), tensorboard, strategy)
    initial = image_conversion.to_model_range(data.x_train[_init_indices(split.unlabeled, config.seed)])
    start_step = trainer.restore_or_initialize(initial)
    if start_step and "generator_tanh_scale" in changes:
        method.adopt_generator_tanh_scale(changes["generator_tanh_scale"][0])
        # At once: config.json already names the new scale, so a crash before the next save would
        # resume the old-scale weights under it.
        trainer.manager.save(checkpoint_number=start_step)
    if changes:
        logging.warning("resuming at step %d with changed settings %s (recorded in %s)", start_step,
                        changes, config_lib.CHANGES_FILE)
        if chief:
            config_lib.record_changes(run_dir, changes, start_step)
    stopped_by = trainer.fit(total_steps, start_step)
    if stopped_by is not None:
        # Not the end of the run: a caller must not judge it as finished (benchmarks/mnist.sh would read
        # the test set next).
        raise Stopped(stopped_by, int(trainer.step.numpy()))
    return final_metrics


def _show_progress():
    """Called from Python (a notebook, a script without absl's app.run), absl logs only warnings: show
    the progress lines too, unless flags have set a verbosity."""
    if not flags.FLAGS.is_parsed() and logging.get_verbosity() < logging.INFO:
        logging.set_verbosity(logging.INFO)


def _refuse_changes_the_method_cannot_adopt(config, changes):
    if "generator_tanh_scale" in changes and not methods.get_class(config.method).generator_reads_tanh_scale(config):
        trained = changes["generator_tanh_scale"][0]
        raise ConfigError(f"--generator_tanh_scale cannot change on resume for --method={config.method} "
                          f"--architecture={config.networks.architecture}: its G has no tanh scale (the run was "
                          f"saved with {trained}); keep {trained} or use a new --output_dir")


def evaluate_during_training(method, data, validation_indices, run_dir, step, tensorboard, evaluator=None,
                             reference=None):
    """Metrics on the validation images for the training log, and a sample grid PNG (one row per class).

    With an evaluator, G is judged as experiments/evaluate.py --split=validation judges it (as many draws
    as validation images, FID, diversity and conditional accuracy in the evaluator's features), so FID
    can be followed over training. Without a validation split only G's conditional accuracy is logged.
    """
    metrics = {}
    if len(validation_indices):
        images, labels = data.x_train[validation_indices], data.y_train[validation_indices]
        metrics["eval/validation_error"] = classifier_metrics.error_rate(method.classify, images, labels)
        if hasattr(method, "classify_without_average"):
            metrics["eval/validation_error_without_average"] = classifier_metrics.error_rate(
                method.classify_without_average, images, labels)
    if evaluator is not None:
        metrics.update(_generator_metrics(method, data.spec.num_classes, step, evaluator, reference))
    grid = sample_images.class_grid(method, data.spec.num_classes)
    os.makedirs(os.path.join(run_dir, "samples"), exist_ok=True)
    sample_images.save_png(os.path.join(run_dir, "samples", f"step_{step:06d}.png"), grid)
    tensorboard.image(step, "samples/by_class", grid)
    return metrics


def _generator_metrics(method, num_classes, step, evaluator, reference):
    if reference is None:
        images, labels = generator_metrics.generate_per_class(method, num_classes, TRAINING_SAMPLES_PER_CLASS,
                                                              seed=step)
        return {"eval/conditional_accuracy": generator_metrics.conditional_accuracy(evaluator, images, labels)}
    reference_features, reference_labels = reference
    per_class = max(1, len(reference_labels) // num_classes)
    images, labels = generator_metrics.generate_per_class(method, num_classes, per_class, seed=step)
    judged = generator_metrics.compare_in_brief(evaluator, images, labels, reference_features, reference_labels,
                                                num_classes)
    return {f"eval/{name}": value for name, value in judged.items()}


def _validation_reference(evaluator, data, validation_indices):
    """The evaluator's features of the validation images and their labels, computed once per run; None
    without an evaluator or a validation split."""
    if evaluator is None or not len(validation_indices):
        return None
    images = image_conversion.to_model_range(data.x_train[validation_indices]).numpy()
    return evaluator.features(images), np.asarray(data.y_train[validation_indices])


def _find_evaluator(config, data):
    directory = config.evaluator_dir or evaluator_lib.default_dir(data)
    if config.evaluator_dir or os.path.exists(os.path.join(directory, evaluator_lib.METADATA_FILE)):
        return evaluator_lib.load(directory, data)
    logging.info("no evaluator in %s: conditional accuracy is not logged while training", directory)
    return None


def _init_indices(pool, seed):
    """INIT_BATCH images of the unlabeled pool for weight norm's data-dependent init."""
    chosen = np.random.default_rng([seed, _INIT_STREAM]).choice(len(pool), size=min(INIT_BATCH, len(pool)),
                                                                 replace=False)
    return pool[chosen]


def _check_writable(path):
    try:
        os.makedirs(path, exist_ok=True)
        # A unique probe name: several workers of one run check the same directory at once.
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write_test"):
            pass
    except OSError as error:
        raise ConfigError(f"cannot write to output_dir {path!r}: {error}") from error


@contextlib.contextmanager
def _removed_if_start_fails(path):
    """Removes `path` again if it did not exist and the block fails before writing into it."""
    existed = os.path.exists(path)
    try:
        yield
    except BaseException:
        if not existed and os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
        raise
