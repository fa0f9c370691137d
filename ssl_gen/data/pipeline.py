"""tf.data pipelines. Batches are dicts of float32 images in [-1, 1] (and int32 labels).

The uint8 arrays stay in memory as constants and batches are gathered by shuffled index, which is much
cheaper on a CPU than shuffling decoded float images.
"""

import numpy as np
import tensorflow as tf

from ssl_gen import seeds
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError


def _shuffled_indices(indices, seed):
    """An endless stream of `indices`, reshuffled every pass."""
    return (tf.data.Dataset.from_tensor_slices(indices)
            .shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
            .repeat())


def _shard(indices, context):
    """The share of one input pipeline (one worker) under tf.distribute."""
    indices = np.asarray(indices)
    if context is None or context.num_input_pipelines == 1:
        return indices
    return indices[context.input_pipeline_id::context.num_input_pipelines]


def _per_replica(global_batch, context):
    if context is None:
        return global_batch
    if global_batch % context.num_replicas_in_sync:
        raise ConfigError(f"batch size {global_batch} does not split evenly over "
                          f"{context.num_replicas_in_sync} replicas")
    return context.get_per_replica_batch_size(global_batch)


def labeled_dataset(images, labels, batch_size, seed):
    """Endless shuffled labeled batches.

    With batch_size == number of labeled images (the MNIST-100 default) every batch holds each labeled
    image exactly once, as in Improved-GAN's and Triple-GAN's code, so every batch is class-balanced.
    """
    images = tf.constant(images)
    labels = tf.constant(labels, tf.int32)

    def gather(indices):
        return {"image": image_conversion.to_model_range(tf.gather(images, indices)),
                "label": tf.gather(labels, indices)}

    return (_shuffled_indices(np.arange(len(labels)), seed)
            .batch(batch_size, drop_remainder=True).map(gather))


def unlabeled_dataset(images, batch_size, seed, num_views=1, indices=None):
    """Endless unlabeled batches; each extra view ("image2", …) is an independent draw of images."""
    indices = np.arange(len(images)) if indices is None else indices
    images = tf.constant(images)
    streams = tuple(_shuffled_indices(indices, seeds.derive(seed, "unlabeled_view", view))
                    .batch(batch_size, drop_remainder=True) for view in range(num_views))

    def gather(*index_batches):
        keys = ["image"] + [f"image{view + 1}" for view in range(1, num_views)]
        return {key: image_conversion.to_model_range(tf.gather(images, indices))
                for key, indices in zip(keys, index_batches)}

    return tf.data.Dataset.zip(streams).map(gather)


def generator_inputs(batch_size, latent_dim, num_classes, seed, context=None):
    """G's inputs, drawn per example from its global index so any split over replicas sees the same ones.

    "latent" ~ U(0, 1)^latent_dim (the anchors' prior) and "generated_label" = index mod K, so every
    batch whose size is a multiple of K is class-balanced, as triple-gan's G batches. "latent2" is a
    second, independent draw for a G update that does not reuse C's batch (improved-gan draws z anew in
    each of its Theano functions).
    """
    examples = tf.data.Dataset.range(2 ** 62)
    if context is not None and context.num_input_pipelines > 1:
        examples = examples.shard(context.num_input_pipelines, context.input_pipeline_id)

    def draw(index):
        per_example_seed = tf.stack([tf.cast(seed, tf.int64), index])
        # index < 2**62, so the second stream never meets the first.
        second_seed = per_example_seed + tf.constant([0, 2 ** 62], tf.int64)
        return {"latent": tf.random.stateless_uniform([latent_dim], seed=per_example_seed),
                "latent2": tf.random.stateless_uniform([latent_dim], seed=second_seed),
                "generated_label": tf.cast(index % num_classes, tf.int32)}

    return examples.map(draw, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(
        batch_size, drop_remainder=True)


def train_dataset(data, labeled_indices, batch_size, seed, unlabeled_views=1, latent_dim=None,
                  input_context=None, unlabeled_indices=None):
    """Zipped (labeled, unlabeled) batches for one replica.

    The unlabeled images are `unlabeled_indices` (a `Split`'s unlabeled pool, without the validation
    images), or every training image when None.

    `batch_size` is global: under tf.distribute each replica takes its share, and with several input
    pipelines (workers) each shards the labeled and unlabeled images. With `latent_dim`, unlabeled
    batches also carry G's inputs (see `generator_inputs`).
    """
    labeled_share = _shard(labeled_indices, input_context)
    if unlabeled_indices is None:
        unlabeled_indices = np.arange(len(data.x_train))
    unlabeled_share = _shard(unlabeled_indices, input_context)
    labeled_batch = _per_replica(min(batch_size, len(labeled_indices)), input_context)
    unlabeled_batch = _per_replica(batch_size, input_context)
    labeled = labeled_dataset(data.x_train[labeled_share], data.y_train[labeled_share], labeled_batch,
                              seed)
    unlabeled = unlabeled_dataset(data.x_train, unlabeled_batch, seed, unlabeled_views, unlabeled_share)
    if latent_dim:
        noise = generator_inputs(unlabeled_batch, latent_dim, data.spec.num_classes, seed, input_context)
        unlabeled = tf.data.Dataset.zip((unlabeled, noise)).map(lambda images, inputs: {**images, **inputs})
    return tf.data.Dataset.zip((labeled, unlabeled)).prefetch(tf.data.AUTOTUNE)


def image_batches(images, batch_size=1000):
    """Yields float32 batches in [-1, 1] of uint8 `images`, in order, for evaluation."""
    for start in range(0, len(images), batch_size):
        yield image_conversion.to_model_range(images[start:start + batch_size])
