"""Generator metrics in the independent evaluator's features: conditional accuracy, FID, KID, intra-FID,
diversity. Real-data "floors" come from comparing one half of the test set with the other."""

import numpy as np
import tensorflow as tf

from ssl_gen.data import images as image_conversion
from ssl_gen.evaluation import distances

GENERATE_BATCH = 1000


def generate_per_class(method, num_classes, per_class, seed=0):
    """Images in [-1, 1] (numpy) and their conditioning labels, `per_class` of each class."""
    labels = np.repeat(np.arange(num_classes, dtype=np.int32), per_class)
    latents = method.sample_latents(len(labels), seed)
    images = [method.generate(tf.constant(labels[start:start + GENERATE_BATCH]),
                              latents[start:start + GENERATE_BATCH]).numpy()
              for start in range(0, len(labels), GENERATE_BATCH)]
    return np.concatenate(images), labels


def conditional_accuracy(evaluator, images, labels):
    """Fraction of images of class y that the evaluator assigns to y."""
    return float(np.mean(evaluator.predict(images) == labels))


def accuracy_per_class(predictions, labels, num_classes):
    """Per class k, the fraction of images conditioned on k that were read as k (None if none were drawn):
    a generator can pass the mean and still draw one class badly."""
    return [float(np.mean(predictions[labels == k] == k)) if np.any(labels == k) else None
            for k in range(num_classes)]


def mean_pairwise_distance(features, max_samples=300, seed=0):
    if len(features) > max_samples:
        features = features[np.random.default_rng(seed).choice(len(features), max_samples, replace=False)]
    squared = np.sum(features ** 2, axis=1)
    distances_squared = np.maximum(squared[:, None] + squared[None, :] - 2.0 * features @ features.T, 0.0)
    count = len(features)
    return float(np.sqrt(distances_squared).sum() / (count * (count - 1)))


def compare(evaluator, images, labels, reference_features, reference_labels, num_classes,
            kid_subsets=100):
    """Metrics of (images, labels) against the reference set's features and labels."""
    features = evaluator.features(images)
    kid_mean, kid_std = distances.kid(features, reference_features, num_subsets=kid_subsets)
    intra = [distances.fid(features[labels == k], reference_features[reference_labels == k])
             for k in range(num_classes)]
    predictions = evaluator.predict(images)
    return {"conditional_accuracy": float(np.mean(predictions == labels)),
            "conditional_accuracy_per_class": accuracy_per_class(predictions, labels, num_classes),
            "fid": distances.fid(features, reference_features),
            "kid": kid_mean, "kid_std": kid_std,
            "intra_fid": float(np.mean(intra)),
            "intra_fid_per_class": [float(value) for value in intra],
            "diversity_ratio": diversity_ratio(features, labels, reference_features, reference_labels,
                                               num_classes)}


def diversity_ratio(features, labels, reference_features, reference_labels, num_classes):
    """Mean over classes of the samples' spread over the real images' spread (NaN if no class has two
    images on each side); 1.0: as spread out as real images of the class, near 0: mode collapse."""
    # A class needs two images on each side for a spread; a small validation split may lack them.
    spread = [k for k in range(num_classes) if min(np.sum(labels == k), np.sum(reference_labels == k)) >= 2]
    ratios = [mean_pairwise_distance(features[labels == k])
              / mean_pairwise_distance(reference_features[reference_labels == k]) for k in spread]
    return float(np.mean(ratios)) if ratios else float("nan")


def compare_in_brief(evaluator, images, labels, reference_features, reference_labels, num_classes):
    """Conditional accuracy, FID and diversity ratio of `compare`, without KID and intra-FID: cheap
    enough to follow during training."""
    features = evaluator.features(images)
    brief = {"conditional_accuracy": conditional_accuracy(evaluator, images, labels),
             "fid": distances.fid(features, reference_features),
             "diversity_ratio": diversity_ratio(features, labels, reference_features, reference_labels,
                                                num_classes)}
    return {name: value for name, value in brief.items() if not np.isnan(value)}


def generator_report(method, evaluator, x_real, y_real, num_classes, seed=0):
    """As many samples as real images (balanced over classes) against the real images (uint8), e.g. the
    test set or the validation split."""
    real_images = image_conversion.to_model_range(x_real).numpy()
    per_class = max(1, len(x_real) // num_classes)
    images, labels = generate_per_class(method, num_classes, per_class, seed)
    return compare(evaluator, images, labels, evaluator.features(real_images), np.asarray(y_real),
                   num_classes)


def real_data_floor(evaluator, x_real, y_real, num_classes, seed=0):
    """The same metrics for one random half of the real images against the other: the best a perfect
    generator could score with this many samples."""
    order = np.random.default_rng(seed).permutation(len(x_real))
    first, second = order[: len(order) // 2], order[len(order) // 2:]
    images = image_conversion.to_model_range(x_real).numpy()
    labels = np.asarray(y_real)
    return compare(evaluator, images[first], labels[first], evaluator.features(images[second]),
                   labels[second], num_classes)
