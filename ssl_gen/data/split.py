"""The labeled split: balanced per class, chosen by a seed, saved with the run and reused on resume."""

import os

import numpy as np

from ssl_gen.errors import ConfigError, DataError

SPLIT_FILE = "labeled_indices.npy"


def balanced_labeled_indices(labels, num_labeled, num_classes, seed):
    """Returns sorted indices of `num_labeled // num_classes` examples of each class.

    numpy's PCG64 stream is the same on every platform, so a seed picks the same images everywhere.
    `num_labeled` equal to the training set's size labels every image, balanced or not: the full-label
    reference a semi-supervised result is compared with (MNIST's classes hold 5,421–6,742 images, so
    no balanced split reaches 60,000).
    """
    if num_labeled <= 0:
        raise ConfigError(f"num_labeled must be positive; received {num_labeled}")
    if num_labeled == len(labels):
        return np.arange(len(labels), dtype=np.int64)
    if num_labeled % num_classes:
        raise ConfigError(f"num_labeled={num_labeled} is not divisible by the {num_classes} classes; "
                          "the labeled split is balanced per class")
    per_class = num_labeled // num_classes
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise ConfigError(f"num_labeled={num_labeled} needs {per_class} examples of class {label} "
                              f"but the training set has only {len(members)}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def load_or_create(run_dir, labels, num_labeled, num_classes, seed, write=True):
    """Reuses `run_dir/labeled_indices.npy` when present (a resumed run), otherwise creates it.

    `write=False` (non-chief workers) recomputes the same split from the seed without writing it.
    """
    path = os.path.join(run_dir, SPLIT_FILE)
    if os.path.exists(path):
        indices = np.load(path)
        _check_saved(indices, path, labels, num_labeled)
        return indices
    indices = balanced_labeled_indices(labels, num_labeled, num_classes, seed)
    if not write:
        return indices
    temporary = path + ".tmp.npy"
    np.save(temporary, indices)
    os.replace(temporary, path)
    return indices


def _check_saved(indices, path, labels, num_labeled):
    if indices.ndim != 1 or len(indices) != num_labeled:
        raise DataError(f"{path} holds {indices.shape} indices but the run asks for num_labeled={num_labeled}")
    if indices.min() < 0 or indices.max() >= len(labels):
        raise DataError(f"{path} has indices up to {int(indices.max())} but the training set has "
                        f"{len(labels)} images: it belongs to another data set")
