"""Data sources: a tfds data set by name, or an npz file in the keras.datasets layout.

Both end in the same validated `DataSet`: uint8 images [N, H, W, C] and int32 labels [N] in 0..K-1.
The number of classes and the image shape come from the data, never from constants.
"""

import dataclasses
import functools
import os
import socket
import zipfile

import numpy as np

from ssl_gen.data import images as image_conversion
from ssl_gen.errors import DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
TFDS_NAMES = ("mnist", "fashion_mnist", "svhn_cropped", "cifar10")
DOWNLOAD_HOST = "storage.googleapis.com"  # where tfds downloads these data sets from


@dataclasses.dataclass(frozen=True)
class DataSpec:
    name: str
    image_shape: tuple  # (H, W, C)
    num_classes: int


@dataclasses.dataclass(frozen=True)
class DataSet:
    spec: DataSpec
    x_train: np.ndarray  # uint8 [N, H, W, C]
    y_train: np.ndarray  # int32 [N]
    x_test: np.ndarray
    y_test: np.ndarray


def without_test_set(data):
    """The data set with its test arrays gone, for code that must not read them (training, choosing)."""
    return dataclasses.replace(data, x_test=None, y_test=None)


def load(dataset="mnist", data_path="", tfds_data_dir=None):
    """Loads `data_path` if given, otherwise the tfds data set `dataset`."""
    if data_path:
        return load_npz(data_path)
    return load_tfds(dataset, data_dir=tfds_data_dir)


def load_npz(path):
    if not os.path.isfile(path):
        raise DataError(f"data file not found: {path!r}")
    if os.path.getsize(path) == 0:
        raise DataError(f"data file {path!r} is empty (0 bytes)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path!r} lacks keys {missing}; it has {sorted(archive.files)}, "
                    f"and the keras.datasets layout needs {list(NPZ_KEYS)}")
            arrays = {key: archive[key] for key in NPZ_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"cannot read {path!r} as an .npz file: {error}") from error
    name = os.path.splitext(os.path.basename(path))[0]
    return from_arrays(name, **arrays)


def load_tfds(name, data_dir=None):
    if name not in TFDS_NAMES:
        raise DataError(f"unknown dataset {name!r}; choose one of {list(TFDS_NAMES)} "
                        "or pass --data_path=FILE.npz")
    import tensorflow_datasets as tfds  # Imported late: it is slow and only this path needs it.

    load = functools.partial(tfds.load, name, split=["train", "test"], as_supervised=True, data_dir=data_dir)
    try:
        train, test = load(download=False)  # prepared already (or tfds' mock data)
    except AssertionError:  # tfds' "could not find data": it must be downloaded
        # Offline, tfds retries its downloads for minutes before failing: say so at once instead.
        if not download_host_reachable():
            raise DataError(f"the tfds data set {name!r} is not downloaded and {DOWNLOAD_HOST} cannot be "
                            f"reached (offline?): pass --data_path=FILE.npz instead, an .npz holding "
                            f"{', '.join(NPZ_KEYS)} (uint8 images [N, H, W] or [N, H, W, C], integer labels "
                            "0..K-1), e.g. from keras.datasets") from None
        train, test = load(download=True)
    x_train, y_train = _to_arrays(tfds, train)
    x_test, y_test = _to_arrays(tfds, test)
    return from_arrays(name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def download_host_reachable(timeout=3.0):
    """Whether a TCP connection to tfds' download host opens within `timeout` seconds."""
    try:
        socket.create_connection((DOWNLOAD_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _to_arrays(tfds, dataset):
    # batch_size=-1 in tfds.load aborts TF 2.21 on generator-backed (mock) data, so batch here.
    images, labels = zip(*tfds.as_numpy(dataset.batch(4096)))
    return np.concatenate(images), np.concatenate(labels)


def from_arrays(name, x_train, y_train, x_test, y_test):
    """Validates four arrays and returns a `DataSet`; raises `DataError` naming what is wrong."""
    x_train = _images(x_train, "x_train")
    x_test = _images(x_test, "x_test")
    y_train = _labels(y_train, "y_train", len(x_train))
    y_test = _labels(y_test, "y_test", len(x_test))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"x_train images have shape {x_train.shape[1:]} but x_test images "
                        f"have shape {x_test.shape[1:]}")
    num_classes = int(y_train.max()) + 1
    if num_classes < 2:
        raise DataError(f"y_train holds a single class ({num_classes - 1}); need at least 2")
    if y_test.max() >= num_classes:
        raise DataError(f"y_test has label {int(y_test.max())}, outside the classes "
                        f"0..{num_classes - 1} found in y_train")
    absent = sorted(set(range(num_classes)) - set(np.unique(y_train).tolist()))
    if absent:
        raise DataError(f"y_train has no examples of classes {absent} (labels run 0..{num_classes - 1})")
    spec = DataSpec(name=name, image_shape=tuple(int(d) for d in x_train.shape[1:]),
                    num_classes=num_classes)
    return DataSet(spec, x_train, y_train, x_test, y_test)


def _images(array, key):
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4:
        raise DataError(f"{key} must have shape [N, H, W] or [N, H, W, C]; received shape {array.shape}")
    if array.shape[0] == 0:
        raise DataError(f"{key} is empty: received shape {array.shape}")
    if array.shape[-1] not in (1, 3, 4):
        raise DataError(f"{key} must have 1, 3 or 4 channels; received shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        low, high = float(np.min(array)), float(np.max(array))
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 1.0:
            raise DataError(f"{key} is float with values in [{low}, {high}]; float images must lie "
                            "in [0, 1] (or store uint8 in [0, 255])")
        return image_conversion.unit_float_to_uint8(array)
    raise DataError(f"{key} must be uint8 (or float in [0, 1]); received dtype {array.dtype}")


def _labels(array, key, expected_length):
    array = np.asarray(array)
    if array.ndim == 2 and array.shape[1] == 1:  # keras.datasets.cifar10 stores [N, 1].
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{key} must have shape [N] (or [N, 1]); received shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"{key} must hold integer class labels; received dtype {array.dtype}")
    if len(array) != expected_length:
        raise DataError(f"{key} has {len(array)} labels but the images have {expected_length}")
    if array.min() < 0:
        raise DataError(f"{key} has negative label {int(array.min())}; labels must be 0..K-1")
    return array.astype(np.int32)
