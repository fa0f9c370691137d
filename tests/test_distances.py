import numpy as np
import pytest

from ssl_gen.evaluation import distances


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    return rng.normal(size=(600, 8)) @ rng.normal(size=(8, 8))


def test_fid_of_a_set_with_itself_is_zero(features):
    assert distances.fid(features, features) == pytest.approx(0.0, abs=1e-6)


def test_fid_matches_closed_form_for_diagonal_gaussians():
    # Means differ by 1 in each of 2 dims; variances 1 and 4: FID = 2 + (1 + 4 − 2·2)·2 = 4.
    fid = distances.frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4.0 * np.eye(2))
    assert fid == pytest.approx(4.0)


def test_fid_and_kid_grow_with_shift_and_agree_in_order(features):
    shifts = [0.1, 0.5, 2.0]
    fids = [distances.fid(features, features[::-1] + shift) for shift in shifts]
    kids = [distances.kid(features, features[::-1] + shift, num_subsets=5, subset_size=300)[0]
            for shift in shifts]
    assert fids == sorted(fids) and fids[0] > 0
    assert kids == sorted(kids)


def test_fid_grows_as_a_set_is_blurred(features):
    # Blurring: shrinking toward the mean (a convex mix with neighbours) changes the covariance.
    blurred = [(1 - alpha) * features + alpha * np.roll(features, 1, axis=0) for alpha in (0.1, 0.3, 0.5)]
    fids = [distances.fid(features, b) for b in blurred]
    assert fids == sorted(fids) and fids[0] > 0


def test_kid_is_the_unbiased_mmd_computed_directly():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.normal(1.0, size=(4, 3))

    def k(a, b):
        return (a @ b / 3 + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(a, b) for a in x for b in y) / 20
    assert distances.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy)


def test_kid_is_unbiased_for_equal_distributions():
    rng = np.random.default_rng(2)
    estimates = [distances.mmd2_unbiased(rng.normal(size=(50, 4)), rng.normal(size=(50, 4)))
                 for _ in range(200)]
    # An unbiased estimator averages to 0 when both samples come from one distribution (a biased
    # one, keeping the diagonal, would sit clearly above 0).
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / np.sqrt(len(estimates))


def test_matrix_square_root_is_safe_for_singular_covariances():
    rng = np.random.default_rng(3)
    low_rank = rng.normal(size=(100, 2)) @ rng.normal(size=(2, 10))  # rank 2 in 10 dims.
    value = distances.fid(low_rank, low_rank + 1e-9)
    assert np.isfinite(value) and value == pytest.approx(0.0, abs=1e-5)
