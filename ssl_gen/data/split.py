"""The run's split of the training images, chosen by a seed, saved with the run and reused on resume.

- validation: random images whose labels choose settings (flags, presets, when to stop) and nothing
  else; they are left out of the unlabeled pool, so no training term sees them.
- labeled: balanced per class, drawn from the rest.
- unlabeled: every training image outside the validation split (the labeled ones included, as in the
  anchors' code).
"""

import dataclasses
import os

import numpy as np

from ssl_gen.errors import ConfigError, DataError

SPLIT_FILE = "labeled_indices.npy"
VALIDATION_FILE = "validation_indices.npy"
# validation_size=-1: this fraction of the training images, at most MAX_AUTO_VALIDATION.
AUTO_VALIDATION_FRACTION = 0.1
MAX_AUTO_VALIDATION = 5000
# The validation draw's own numpy stream, so it never shares numbers with the labeled draw.
_VALIDATION_STREAM = 1


@dataclasses.dataclass(frozen=True)
class Split:
    labeled: np.ndarray  # int64 indices into the training images, sorted
    validation: np.ndarray
    unlabeled: np.ndarray


def resolve_validation_size(requested, num_images):
    """The number of validation images for `--validation_size=requested` (-1: automatic).

    Args:
      requested: -1 (10 % of the training images, at most 5,000), 0 (no validation split) or a count.
      num_images: the training set's size.
    Returns:
      The count, checked to leave training images.
    """
    if requested == -1:
        return min(MAX_AUTO_VALIDATION, int(AUTO_VALIDATION_FRACTION * num_images))
    if requested < 0:
        raise ConfigError(f"validation_size must be -1 (automatic), 0 (off) or a count; received {requested}")
    if requested >= num_images:
        raise ConfigError(f"validation_size={requested} leaves no training images: the training set has "
                          f"{num_images}")
    return requested


def validation_indices(num_images, size, seed):
    """Sorted indices of `size` training images drawn uniformly by `seed`."""
    rng = np.random.default_rng([seed, _VALIDATION_STREAM])
    return np.sort(rng.choice(num_images, size=size, replace=False)).astype(np.int64)


def balanced_labeled_indices(labels, num_labeled, num_classes, seed, exclude=()):
    """Returns sorted indices of `num_labeled // num_classes` examples of each class, none in `exclude`.

    numpy's PCG64 stream is the same on every platform, so a seed picks the same images everywhere.
    `num_labeled` equal to the training set's size labels every image outside `exclude`, balanced or
    not: the full-label reference a semi-supervised result is compared with.
    """
    if num_labeled <= 0:
        raise ConfigError(f"num_labeled must be positive; received {num_labeled}")
    allowed = np.ones(len(labels), bool)
    allowed[np.asarray(exclude, np.int64)] = False
    if num_labeled == len(labels):
        return np.flatnonzero(allowed).astype(np.int64)
    if num_labeled % num_classes:
        raise ConfigError(f"num_labeled={num_labeled} is not divisible by the {num_classes} classes; "
                          "the labeled split is balanced per class")
    per_class = num_labeled // num_classes
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(num_classes):
        members = np.flatnonzero((labels == label) & allowed)
        if len(members) < per_class:
            raise ConfigError(f"num_labeled={num_labeled} needs {per_class} examples of class {label} "
                              f"but the training set has only {len(members)} outside the validation split")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def create(labels, num_labeled, num_classes, seed, validation_size):
    """The split for a new run; `validation_size` as resolved by `resolve_validation_size`."""
    validation = validation_indices(len(labels), validation_size, seed)
    labeled = balanced_labeled_indices(labels, num_labeled, num_classes, seed, exclude=validation)
    return Split(labeled, validation, _complement(len(labels), validation))


def load_or_create(run_dir, labels, num_labeled, num_classes, seed, validation_size=0, write=True):
    """Reuses the run's saved split when present (a resumed run), otherwise creates and saves it.

    Args:
      run_dir: the run directory holding labeled_indices.npy and validation_indices.npy.
      labels: int labels of every training image.
      num_labeled, num_classes, seed: as for `balanced_labeled_indices`.
      validation_size: the resolved number of validation images (0: none).
      write: False on non-chief workers, which recompute the same split from the seed.
    Returns:
      A `Split`.
    """
    labeled_path = os.path.join(run_dir, SPLIT_FILE)
    if os.path.exists(labeled_path):
        validation = _checked_validation(run_dir, validation_size, len(labels))
        labeled = np.load(labeled_path)
        _check_labeled(labeled, labeled_path, labels, num_labeled, validation)
        return Split(labeled, validation, _complement(len(labels), validation))
    split = create(labels, num_labeled, num_classes, seed, validation_size)
    if write:
        save(run_dir, split)
    return split


def save(run_dir, split):
    """Writes a new run's split files; a run that already has them keeps them."""
    labeled_path = os.path.join(run_dir, SPLIT_FILE)
    if os.path.exists(labeled_path):
        return
    if len(split.validation):
        _save(os.path.join(run_dir, VALIDATION_FILE), split.validation)
    _save(labeled_path, split.labeled)  # Last: its presence marks a complete split.


def load_validation(run_dir):
    """The run's validation indices; empty for a run without a validation split."""
    path = os.path.join(run_dir, VALIDATION_FILE)
    return np.load(path) if os.path.exists(path) else np.zeros([0], np.int64)


def _complement(num_images, excluded):
    kept = np.ones(num_images, bool)
    kept[excluded] = False
    return np.flatnonzero(kept).astype(np.int64)


def _save(path, indices):
    temporary = path + ".tmp.npy"
    np.save(temporary, indices)
    os.replace(temporary, path)


def _checked_validation(run_dir, validation_size, num_images):
    indices = load_validation(run_dir)
    path = os.path.join(run_dir, VALIDATION_FILE)
    if len(indices) != validation_size:
        raise ConfigError(f"{path} holds {len(indices)} validation images but the run asks for "
                          f"validation_size={validation_size}; use the run's size or a new --output_dir")
    if len(indices) and (indices.min() < 0 or indices.max() >= num_images):
        raise DataError(f"{path} has indices up to {int(indices.max())} but the training set has "
                        f"{num_images} images: it belongs to another data set")
    return indices


def _check_labeled(indices, path, labels, num_labeled, validation):
    expected = len(labels) - len(validation) if num_labeled == len(labels) else num_labeled
    if indices.ndim != 1 or len(indices) != expected:
        raise DataError(f"{path} holds {indices.shape} indices but the run asks for num_labeled={num_labeled}")
    if indices.min() < 0 or indices.max() >= len(labels):
        raise DataError(f"{path} has indices up to {int(indices.max())} but the training set has "
                        f"{len(labels)} images: it belongs to another data set")
    if np.intersect1d(indices, validation).size:
        raise DataError(f"{path} shares images with the validation split: the split files are corrupt")
