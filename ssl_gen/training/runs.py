"""A run directory: its config, its data, its split, and its method restored from the latest checkpoint."""

import os

import tensorflow as tf

from ssl_gen.training import config as config_lib, precision
from ssl_gen import data as data_lib
from ssl_gen import methods
from ssl_gen.errors import ConfigError
from ssl_gen.training.trainer import CHECKPOINT_DIR, make_checkpoint, restore_newest_readable


def load_data(config, data_path=None):
    return data_lib.load(config.dataset, data_path if data_path is not None else config.data_path)


def restore(run_dir, data_path=None):
    """Returns (config, data, method, step) with the method's weights from the run's latest checkpoint.

    The method computes in float32 whatever the run trained in (bfloat16 is a training speed-up): so
    evaluation, the Python API and an export all answer alike, on any hardware.
    """
    config = config_lib.load(run_dir)
    data = load_data(config, data_path)
    unlabeled = len(data.x_train) - len(data_lib.load_validation(run_dir))
    # Weights are float32 under either policy, so a bfloat16 run's checkpoint restores as it is.
    with precision.policy(precision.FULL):
        method = methods.create(config, data.spec, config.total_steps(unlabeled))
        method.build()
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint_dir = os.path.join(run_dir, CHECKPOINT_DIR)
    if restore_newest_readable(make_checkpoint(method, step), checkpoint_dir) is None:
        raise ConfigError(f"no checkpoint in {checkpoint_dir!r}: train first")
    return config, data, method, int(step.numpy())
