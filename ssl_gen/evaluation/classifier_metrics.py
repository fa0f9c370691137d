"""Classifier metrics on the full test set."""

import numpy as np

from ssl_gen.data import test_batches


def predict(classify, images, labels, batch_size=1000):
    """Predicted labels of `classify` (images in [-1, 1] -> logits) over uint8 `images`."""
    predictions = [np.argmax(classify(batch).numpy(), axis=1)
                   for batch, _ in test_batches(images, labels, batch_size)]
    return np.concatenate(predictions)


def test_error(classify, images, labels):
    """Fraction of misclassified images."""
    return float(np.mean(predict(classify, images, labels) != np.asarray(labels)))
