"""tf.distribute strategies by name, the chief/worker roles, and cross-replica statistics.

Keras 3 `Model.fit` fails under MultiWorkerMirroredStrategy, so ssl_gen's own loop (trainer.py) runs
`strategy.run` / `strategy.reduce` under every strategy here.
"""

import json
import os

import tensorflow as tf

from ssl_gen.errors import ConfigError

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name, tpu_address=""):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # All local GPUs; without any, all logical CPUs (one CPU split in two is how tests run it).
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                              "(cluster and task); see docs/DISTRIBUTED.md")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy(tpu_address)
    raise ConfigError(f"unknown strategy {name!r}; choose one of {list(STRATEGIES)}")


def _tpu_strategy(address):
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address or None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as error:
        raise ConfigError(f"--strategy=tpu found no TPU (tpu address {address or 'auto'!r}): {error}") from error
    return tf.distribute.TPUStrategy(resolver)


def task(strategy):
    """(task_type, task_id) of this process; (None, None) outside a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """The process that writes checkpoints, logs and images: the "chief", or worker 0 without one."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def global_batch_mean(values):
    """Mean over axis 0 of the global batch: all-reduced across replicas inside `strategy.run`."""
    mean = tf.reduce_mean(values, axis=0)
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return mean
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, mean)
