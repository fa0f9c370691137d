import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import losses
from ssl_gen.optim import linear_ramp


def _softplus(x):
    return np.log1p(np.exp(x))


def test_improved_gan_unsupervised_matches_hand_computation():
    real = np.array([[0.0, np.log(3.0)], [1.0, 1.0]], np.float32)
    fake = np.array([[np.log(0.5), np.log(0.5)]], np.float32)
    z_real = np.log(np.exp(real).sum(axis=1))  # [log 4, 1 + log 2]
    expected = 0.5 * (np.mean(_softplus(-z_real)) + np.mean(_softplus(np.array([0.0]))))
    assert float(losses.improved_gan_unsupervised(real, fake)) == pytest.approx(expected, rel=1e-6)


def test_improved_gan_unsupervised_equals_binary_cross_entropy_of_sigmoid_logsumexp():
    real = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    fake = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    d_real = 1 / (1 + np.exp(-np.log(np.exp(real).sum(1))))
    d_fake = 1 / (1 + np.exp(-np.log(np.exp(fake).sum(1))))
    expected = 0.5 * (-np.mean(np.log(d_real)) - np.mean(np.log(1 - d_fake)))
    assert float(losses.improved_gan_unsupervised(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_feature_matching_is_mean_squared_difference_of_batch_means():
    fake = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)  # means 2, 3
    real = np.array([[0.0, 0.0], [0.0, 2.0]], np.float32)  # means 0, 1
    assert float(losses.feature_matching(fake, real)) == pytest.approx((4.0 + 4.0) / 2)


def test_confidence_weighted_adversarial_uses_max_probability():
    logits = np.array([[np.log(3.0), 0.0], [0.0, 0.0]], np.float32)  # p_max 0.75 and 0.5
    pair_logits = np.array([0.0, 2.0], np.float32)
    expected = np.mean([0.75 * _softplus(0.0), 0.5 * _softplus(-2.0)])
    assert float(losses.confidence_weighted_adversarial(logits, pair_logits)) == pytest.approx(expected, rel=1e-6)


def test_confidence_weighted_adversarial_gives_no_gradient_to_discriminator():
    logits = tf.Variable([[1.0, 0.0]])
    pair_logits = tf.Variable([0.5])
    with tf.GradientTape() as tape:
        loss = losses.confidence_weighted_adversarial(logits, pair_logits)
    gradient_logits, gradient_pair = tape.gradient(loss, [logits, pair_logits])
    assert gradient_pair is None
    assert np.abs(gradient_logits.numpy()).sum() > 0


def test_discriminator_loss_components_and_mixture():
    result = losses.discriminator_loss(np.array([0.0]), np.array([0.0]), np.array([2.0]), classifier_share=0.25)
    log2 = np.log(2.0)
    assert float(result["real"]) == pytest.approx(log2)
    assert float(result["classified"]) == pytest.approx(_softplus(2.0))
    assert float(result["total"]) == pytest.approx(log2 + 0.75 * log2 + 0.25 * _softplus(2.0))


def test_classifier_loss_weights_its_components():
    labeled = np.array([[2.0, 0.0]], np.float32)
    result = losses.classifier_loss(labeled, np.array([0]), labeled, labeled, np.array([1]),
                                    np.array([0.0], np.float32), unsupervised_weight=0.5,
                                    adversarial_weight=2.0, generated_weight=3.0)
    expected = (result["supervised"] + 0.5 * result["unsupervised"] + 2.0 * result["adversarial"]
                + 3.0 * result["generated"])
    assert float(result["total"]) == pytest.approx(float(expected))
    assert float(result["generated"]) > float(result["supervised"])  # label 1 is the unlikely class.


def test_generator_loss_weights_its_components():
    result = losses.generator_loss(np.array([1.0]), np.ones((2, 3)), np.zeros((2, 3)),
                                   np.array([[0.0, 1.0]]), np.array([1]), 2.0, 3.0, 4.0)
    assert float(result["feature_matching"]) == pytest.approx(1.0)
    assert float(result["adversarial"]) == pytest.approx(_softplus(-1.0))
    assert float(result["total"]) == pytest.approx(
        2.0 * _softplus(-1.0) + 3.0 + 4.0 * float(result["classification"]))


def test_linear_ramp():
    assert [float(linear_ramp(step, 10, 4)) for step in (0, 9, 10, 11, 13, 20)] == [0, 0, 0.25, 0.5, 1, 1]
    assert float(linear_ramp(0, 0, 0)) == 1.0


def test_classifier_loss_without_discriminator_pairs_omits_the_adversarial_term():
    labeled = np.array([[2.0, 0.0]], np.float32)
    result = losses.classifier_loss(labeled, np.array([0]), labeled, labeled, np.array([1]), None,
                                    unsupervised_weight=1.0, adversarial_weight=5.0, generated_weight=0.0)
    assert "adversarial" not in result
    assert float(result["total"]) == pytest.approx(float(result["supervised"] + result["unsupervised"]))


def test_generator_loss_without_discriminator_omits_the_adversarial_term():
    result = losses.generator_loss(None, np.ones((2, 3)), np.zeros((2, 3)), np.array([[0.0, 1.0]]),
                                   np.array([1]), 5.0, 1.0, 0.0)
    assert "adversarial" not in result
    assert float(result["total"]) == pytest.approx(1.0)
