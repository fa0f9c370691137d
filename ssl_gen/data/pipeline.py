"""tf.data pipelines. Batches are dicts of float32 images in [-1, 1] (and int32 labels).

The uint8 arrays stay in memory as constants and batches are gathered by shuffled index, which is much
cheaper on a CPU than shuffling decoded float images.
"""

import tensorflow as tf

from ssl_gen.data import images as image_conversion


def _shuffled_index_batches(size, batch_size, seed):
    return (tf.data.Dataset.range(size)
            .shuffle(size, seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size, drop_remainder=True))


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

    return _shuffled_index_batches(len(labels), batch_size, seed).map(gather)


def unlabeled_dataset(images, batch_size, seed, num_views=1):
    """Endless unlabeled batches; each extra view ("image2", …) is an independent draw of images."""
    images = tf.constant(images)
    streams = tuple(_shuffled_index_batches(len(images), batch_size, seed + 1000 * view)
                    for view in range(num_views))

    def gather(*index_batches):
        keys = ["image"] + [f"image{view + 1}" for view in range(1, num_views)]
        return {key: image_conversion.to_model_range(tf.gather(images, indices))
                for key, indices in zip(keys, index_batches)}

    return tf.data.Dataset.zip(streams).map(gather)


def train_dataset(data, labeled_indices, batch_size, seed, unlabeled_views=1):
    """Zipped (labeled, unlabeled) batches; the unlabeled set is every training image."""
    labeled_batch = min(batch_size, len(labeled_indices))
    labeled = labeled_dataset(data.x_train[labeled_indices], data.y_train[labeled_indices],
                              labeled_batch, seed)
    unlabeled = unlabeled_dataset(data.x_train, batch_size, seed, unlabeled_views)
    return tf.data.Dataset.zip((labeled, unlabeled)).prefetch(tf.data.AUTOTUNE)


def image_batches(images, batch_size=1000):
    """Yields float32 batches in [-1, 1] of uint8 `images`, in order, for evaluation."""
    for start in range(0, len(images), batch_size):
        yield image_conversion.to_model_range(images[start:start + batch_size])
