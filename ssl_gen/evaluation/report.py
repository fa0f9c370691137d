"""The evaluation report of a run: DIR/eval.json, DIR/eval/*.png and TensorBoard — one pipeline that
judges both the classifier and the generator.

The report judges one set of real images: the test set (the default: read once, at the end, for the
numbers a run reports; the validation error is added beside it) or the run's validation split (for
choosing settings such as a latent scale without reading the test set; DIR/eval_validation.json).
"""

import json
import os

import numpy as np
from absl import logging

from ssl_gen import data as data_lib
from ssl_gen import export, sampling
from ssl_gen.training import runs
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError
from ssl_gen.evaluation import classifier_metrics, generator_metrics, plots
from ssl_gen.evaluation import evaluator as evaluator_lib
from ssl_gen.evaluation import images as sample_images
from ssl_gen.training.metrics_log import METRICS_FILE, TensorBoard

SPLITS = ("test", "validation")
SCALARS = ("validation_error", "ece", "conditional_accuracy", "fid", "kid", "intra_fid", "diversity_ratio")


def report_name(candidates=1, latent_scale=1.0, split="test"):
    """'eval' for G's own draws on the test set; the sampler's name (ssl_gen.sampling), then
    '_validation' for a report on the validation split."""
    name = sampling.report_name(candidates, latent_scale)
    return name + "_validation" if split == "validation" else name


def evaluate_run(run_dir, data_path=None, evaluator_dir=None, seed=0, candidates=1, latent_scale=1.0,
                 split="test"):
    """Restores the run's latest checkpoint and writes the full report (DIR/eval.json, DIR/eval/).

    Args:
      run_dir: a run directory written by experiments/train.py.
      data_path: an .npz to read instead of the run's own data source.
      evaluator_dir: the evaluator for the generator metrics (default: the data set's cached one).
      seed: seed of the generated samples.
      candidates, latent_scale: judge G through that sampler (ssl_gen.sampling), into e.g.
        DIR/eval_best_of_K.json and DIR/eval_best_of_K/, beside G's own report rather than over it.
      split: "test" (the final report) or "validation" (into DIR/eval_validation.json; the test set is
        not read).
    Returns:
      The report as a dict.
    """
    _check_split(split)
    config, data, method, step = runs.restore(run_dir, data_path)
    labeled_indices = np.load(os.path.join(run_dir, data_lib.SPLIT_FILE))
    validation_indices = data_lib.load_validation(run_dir)
    report = _judge_and_save(method, data, evaluator_dir, run_dir, seed, labeled_indices, validation_indices,
                             {"num_labeled": config.num_labeled, "method": config.method, "step": step},
                             candidates, latent_scale, split)
    name = report_name(candidates, latent_scale, split)
    if name == "eval_validation":
        # The run's TensorBoard holds what training may see: G's own report on the validation split.
        _to_tensorboard(run_dir, step, report, os.path.join(run_dir, name))
    if name == "eval" and len(validation_indices):
        metrics_path = os.path.join(run_dir, METRICS_FILE)
        if os.path.exists(metrics_path):
            plots.plot_validation_error([metrics_path],
                                        os.path.join(run_dir, "eval", "validation_error_curve.png"),
                                        labels=[os.path.basename(os.path.normpath(run_dir))])
    return report


def evaluate_saved_model(export_dir, data_path=None, evaluator_dir=None, seed=0, candidates=1,
                         latent_scale=1.0, split="test"):
    """Judges an exported SavedModel the same way; writes EXPORT/eval.json and EXPORT/eval/*.png."""
    _check_split(split)
    method = export.SavedModelMethod(export_dir)
    metadata = method.metadata
    data = data_lib.load(metadata["dataset"], data_path if data_path is not None else metadata["data_path"])
    details = {key: metadata[key] for key in ("num_labeled", "method", "step")}
    details["saved_model"] = os.path.abspath(export_dir)
    validation_indices = np.asarray(metadata.get("validation_indices", []), np.int64)
    return _judge_and_save(method, data, evaluator_dir, export_dir, seed, np.asarray(metadata["labeled_indices"]),
                           validation_indices, details, candidates, latent_scale, split)


def _check_split(split):
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}; received {split!r}")


def _judge_and_save(method, data, evaluator_dir, directory, seed, labeled_indices, validation_indices, details,
                    candidates, latent_scale, split):
    """The suite on `method` through the sampler asked for (ssl_gen.sampling), saved under DIRECTORY."""
    name = report_name(candidates, latent_scale, split)
    evaluator = _load_evaluator(evaluator_dir, data)
    if split == "validation":
        if not len(validation_indices):
            raise ConfigError(f"{directory!r} has no validation split (it was trained with "
                              f"--validation_size=0): judge it with --split=test")
        data = data_lib.without_test_set(data)  # Choosing settings never reads it.
    report = evaluate_method(sampling.wrap(method, candidates, latent_scale), data, evaluator,
                             os.path.join(directory, name), seed, labeled_indices, validation_indices, split)
    report.update({**details, "candidates": candidates, "latent_scale": latent_scale})
    path = os.path.join(directory, name + ".json")
    with open(path + ".tmp", "w") as file:
        json.dump(report, file, indent=2)
    os.replace(path + ".tmp", path)
    return report


def _load_evaluator(evaluator_dir, data):
    """The evaluator asked for (which must exist), else the data set's cached one, else None."""
    if evaluator_dir:
        return evaluator_lib.load(evaluator_dir, data)
    try:
        return evaluator_lib.load(evaluator_lib.default_dir(data), data)
    except ConfigError as missing:
        logging.warning("generator metrics skipped: %s", missing)
        return None


def evaluate_method(method, data, evaluator, image_dir, seed=0, labeled_indices=None, validation_indices=(),
                    split="test"):
    """Every metric and image of the suite for anything with classify / generate / sample_latents.

    Args:
      method: anything with classify / generate / sample_latents (images in [-1, 1]).
      data: the `DataSet`.
      evaluator: the independent evaluator, or None to skip the generator metrics.
      image_dir: where the report's PNGs go.
      seed: seed of the generated samples.
      labeled_indices: the labeled training images, for the nearest-neighbour panel.
      validation_indices: the run's validation split (may be empty).
      split: which real images are judged: "test" or "validation".
    Returns:
      The report: "{split}_error" and the classifier metrics on those images, the generator metrics
      against them, and with split="test" the validation error beside the test error.
    """
    classes = data.spec.num_classes
    validation_indices = np.asarray(validation_indices, np.int64)
    if split == "test":
        images, labels = data.x_test, data.y_test
    else:
        images, labels = data.x_train[validation_indices], data.y_train[validation_indices]
    report = classifier_metrics.classifier_report(method.classify, images, labels, classes)
    report = {f"{split}_error": report.pop("error"), **report, f"num_{split}_images": int(len(images)),
              "split": split, "dataset": data.spec.name, "evaluator": None}
    if split == "test" and len(validation_indices):
        report["validation_error"] = classifier_metrics.error_rate(
            method.classify, data.x_train[validation_indices], data.y_train[validation_indices])
        report["num_validation_images"] = int(len(validation_indices))
    if evaluator is not None:
        report.update(generator_metrics.generator_report(method, evaluator, images, labels, classes, seed))
        report["real_data_floor"] = generator_metrics.real_data_floor(evaluator, images, labels, classes, seed)
        report["evaluator"] = {"fingerprint": evaluator.metadata["fingerprint"],
                               "test_accuracy": evaluator.test_accuracy}
    _write_images(method, data, report["confusion_matrix"], image_dir, seed, labeled_indices)
    return report


def _write_images(method, data, confusion, image_dir, seed, labeled_indices):
    os.makedirs(image_dir, exist_ok=True)
    classes = data.spec.num_classes
    sample_images.save_png(os.path.join(image_dir, "samples_by_class.png"),
                           sample_images.class_grid(method, classes, seed=seed))
    sample_images.save_png(os.path.join(image_dir, "interpolation.png"),
                           sample_images.interpolation_strip(method, classes, seed=seed))
    generated, _ = generator_metrics.generate_per_class(method, classes, 1, seed)
    pools = [(data.x_train, 3)]
    if labeled_indices is not None:
        pools.insert(0, (data.x_train[labeled_indices], 1))
    panel = sample_images.nearest_neighbour_panel(image_conversion.model_to_uint8(generated).numpy(), pools)
    sample_images.save_png(os.path.join(image_dir, "nearest_neighbours.png"), panel)
    plots.plot_confusion_matrix(confusion, os.path.join(image_dir, "confusion_matrix.png"))


def _to_tensorboard(run_dir, step, report, image_dir):
    board = TensorBoard(run_dir)
    board.scalars(step, {f"eval/{name}": report[name] for name in SCALARS if name in report})
    for name in ("samples_by_class", "interpolation", "nearest_neighbours"):
        path = os.path.join(image_dir, f"{name}.png")
        board.image(step, f"eval/{name}", sample_images.read_png(path))
