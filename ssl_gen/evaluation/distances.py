"""FID and KID between two feature sets, in numpy (tensorflow-gan no longer imports on TF 2.21)."""

import numpy as np


def _symmetric_sqrt(matrix):
    """Square root of a symmetric PSD matrix by eigendecomposition; tiny negative eigenvalues (round-off
    of near-singular covariances) are clipped to 0 instead of producing NaN or complex values."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """‖μa − μb‖² + Tr(Σa) + Tr(Σb) − 2 Tr((Σa^½ Σb Σa^½)^½): the symmetric form of Tr((ΣaΣb)^½)."""
    root_a = _symmetric_sqrt(cov_a)
    cross = _symmetric_sqrt(root_a @ cov_b @ root_a)
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross)
    return float(max(distance, 0.0))


def fid(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two [N, D] feature sets."""
    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    return frechet_distance(features_a.mean(0), np.cov(features_a, rowvar=False),
                            features_b.mean(0), np.cov(features_b, rowvar=False))


def polynomial_kernel(x, y):
    """KID's kernel k(x, y) = (x·y / d + 1)³ (Bińkowski et al., 2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased estimate of MMD² with the polynomial kernel (diagonal terms left out)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
                 + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1)) - 2.0 * k_xy.mean())


def kid(features_a, features_b, num_subsets=100, subset_size=1000, seed=0):
    """Mean and std of the unbiased MMD² over random subsets, as TF-GAN and the KID paper report it."""
    features_a, features_b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    size = min(subset_size, len(features_a), len(features_b))
    rng = np.random.default_rng(seed)
    estimates = [mmd2_unbiased(features_a[rng.choice(len(features_a), size, replace=False)],
                               features_b[rng.choice(len(features_b), size, replace=False)])
                 for _ in range(num_subsets)]
    return float(np.mean(estimates)), float(np.std(estimates))
