"""Classifier metrics on a labeled image set: error, per-class error, confusion matrix, calibration."""

import numpy as np
import tensorflow as tf

from ssl_gen.data import image_batches


def logits_of(classify, images, batch_size=1000):
    """Logits of `classify` (images in [-1, 1] -> logits) over uint8 `images`, in order."""
    return np.concatenate([classify(batch).numpy() for batch in image_batches(images, batch_size)])


def predict(classify, images, batch_size=1000):
    return np.argmax(logits_of(classify, images, batch_size), axis=1)


def error_rate(classify, images, labels):
    """Fraction of misclassified images."""
    return float(np.mean(predict(classify, images) != np.asarray(labels)))


def confusion_matrix(labels, predictions, num_classes):
    """[true, predicted] counts."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_error(matrix):
    totals = matrix.sum(axis=1)
    return [float(1.0 - matrix[k, k] / totals[k]) if totals[k] else float("nan") for k in range(len(matrix))]


def expected_calibration_error(probabilities, labels, num_bins=15):
    """Σ_b (|b|/N)·|accuracy(b) − confidence(b)| over equal-width confidence bins (Guo et al., 2017)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    bins = np.minimum((confidence * num_bins).astype(int), num_bins - 1)
    error = 0.0
    for b in range(num_bins):
        members = bins == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def classifier_report(classify, images, labels, num_classes):
    logits = logits_of(classify, images)
    probabilities = tf.nn.softmax(logits).numpy()
    predictions = logits.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions, num_classes)
    return {"error": float(np.mean(predictions != np.asarray(labels))),
            "per_class_error": per_class_error(matrix),
            "ece": expected_calibration_error(probabilities, labels),
            "confusion_matrix": matrix.tolist()}
