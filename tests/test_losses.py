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
                                    weights={"unsupervised": 0.5, "adversarial": 2.0, "generated": 3.0},
                                    pair_logits_of_unlabeled=np.array([0.0], np.float32))
    expected = (result["supervised"] + 0.5 * result["unsupervised"] + 2.0 * result["adversarial"]
                + 3.0 * result["generated"])
    assert float(result["total"]) == pytest.approx(float(expected))
    assert float(result["generated"]) > float(result["supervised"])  # label 1 is the unlikely class.


def test_class_balance_is_zero_for_an_even_batch_and_grows_as_classes_merge():
    even = np.log(np.eye(4, dtype=np.float32) + 1e-6)  # one confident prediction per class
    merged = np.log(np.tile(np.array([[1.0, 1e-6, 1e-6, 1e-6]], np.float32), (4, 1)))
    half = np.log(np.array([[0.5, 0.5, 1e-6, 1e-6]] * 4, np.float32))
    assert float(losses.class_balance(even)) == pytest.approx(0.0, abs=1e-4)
    assert 0.5 < float(losses.class_balance(half)) < float(losses.class_balance(merged))


def test_prediction_entropy_is_zero_when_confident_and_log_k_when_uniform():
    confident = np.array([[30.0, 0.0, 0.0, 0.0]], np.float32)
    uniform = np.zeros((1, 4), np.float32)
    assert float(losses.prediction_entropy(confident)) == pytest.approx(0.0, abs=1e-4)
    assert float(losses.prediction_entropy(uniform)) == pytest.approx(np.log(4.0), rel=1e-5)


def test_classifier_loss_adds_the_weighted_entropy_of_the_unlabeled_batch_only():
    labeled = np.array([[9.0, 0.0]], np.float32)  # confident: would give ~0 entropy if used
    unsure = np.array([[0.0, 0.0], [0.1, 0.0]], np.float32)
    off = losses.classifier_loss(labeled, np.array([0]), unsure, unsure, np.array([1, 1]),
                                 weights={"unsupervised": 1.0})
    on = losses.classifier_loss(labeled, np.array([0]), unsure, unsure, np.array([1, 1]),
                                weights={"unsupervised": 1.0, "entropy": 0.3})
    assert float(on["entropy"]) == pytest.approx(float(losses.prediction_entropy(unsure)))
    assert float(on["entropy"]) > 0.6  # near log 2: measured on the unsure unlabeled batch
    assert float(on["total"]) == pytest.approx(float(off["total"]) + 0.3 * float(on["entropy"]))


def test_classifier_loss_adds_the_weighted_balance_term():
    logits = np.array([[2.0, 0.0], [3.0, 0.0]], np.float32)
    off = losses.classifier_loss(logits, np.array([0, 0]), logits, logits, np.array([1, 1]),
                                 weights={"unsupervised": 1.0})
    on = losses.classifier_loss(logits, np.array([0, 0]), logits, logits, np.array([1, 1]),
                                weights={"unsupervised": 1.0, "balance": 2.0})
    assert float(on["balance"]) > 0.1  # both images lean to class 0
    assert float(on["total"]) == pytest.approx(float(off["total"]) + 2.0 * float(on["balance"]))


def test_prediction_consistency_is_zero_for_the_same_prediction_and_kl_otherwise():
    target = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
    # Adding a constant to every logit of an image leaves its prediction, and so the loss, unchanged.
    assert float(losses.prediction_consistency(target, target + 5.0)) == pytest.approx(0.0, abs=1e-6)
    other = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    p = tf.nn.softmax(target).numpy()
    q = tf.nn.softmax(other).numpy()
    expected = np.mean(np.sum(p * np.log(p / q), axis=1))
    assert float(losses.prediction_consistency(target, other)) == pytest.approx(expected, rel=1e-5)
    assert expected > 0.5


def test_prediction_consistency_counts_only_confident_targets_over_the_whole_batch():
    confident, unsure = [8.0, 0.0, 0.0], [0.5, 0.0, 0.0]  # max probabilities ~0.999 and ~0.45
    target = np.array([confident, unsure], np.float32)
    logits = np.array([[0.0, 3.0, 0.0], [0.0, 3.0, 0.0]], np.float32)
    each = [float(losses.prediction_consistency(target[i:i + 1], logits[i:i + 1])) for i in range(2)]
    assert min(each) > 0.5
    assert float(losses.prediction_consistency(target, logits, threshold=0.95)) == pytest.approx(each[0] / 2)
    assert float(losses.prediction_consistency(target, logits, threshold=0.0)) == pytest.approx(sum(each) / 2)


def test_prediction_consistency_moves_only_the_transformed_view_and_leaves_z_alone():
    target = tf.constant([[2.0, 0.0, -1.0]])
    logits = tf.constant([[0.0, 2.0, 0.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([target, logits])
        loss = losses.prediction_consistency(target, logits)
    assert tape.gradient(loss, target) is None
    gradient = tape.gradient(loss, logits).numpy()
    assert np.abs(gradient).max() > 0.1
    # The gradient sums to zero over the classes: no push on Z = logsumexp(l), the real/fake score.
    assert gradient.sum(axis=1) == pytest.approx([0.0], abs=1e-6)


def test_classifier_loss_adds_the_weighted_consistency_only_when_a_transformed_view_is_given():
    logits = np.array([[2.0, 0.0], [3.0, 0.0]], np.float32)
    transformed = np.array([[0.0, 2.0], [3.0, 0.0]], np.float32)
    off = losses.classifier_loss(logits, np.array([0, 0]), logits, logits, np.array([1, 1]),
                                 weights={"unsupervised": 1.0, "consistency": 2.0})
    on = losses.classifier_loss(logits, np.array([0, 0]), logits, logits, np.array([1, 1]),
                                weights={"unsupervised": 1.0, "consistency": 2.0},
                                transformed_unlabeled_logits=transformed)
    assert "consistency" not in off
    assert float(on["consistency"]) == pytest.approx(float(losses.prediction_consistency(logits, transformed)))
    assert float(on["consistency"]) > 0.5  # the first image's prediction flips between the views
    assert float(on["total"]) == pytest.approx(float(off["total"]) + 2.0 * float(on["consistency"]))


def test_r_p_reads_another_generators_samples_when_given_and_the_real_fake_term_keeps_its_own():
    logits = np.array([[2.0, 0.0], [0.0, 2.0]], np.float32)
    samples = np.array([[0.0, 4.0], [4.0, 0.0]], np.float32)  # read as the wrong class
    own = losses.classifier_loss(logits, np.array([0, 1]), logits, logits, np.array([0, 1]),
                                 weights={"generated": 1.0})
    other = losses.classifier_loss(logits, np.array([0, 1]), logits, logits, np.array([0, 1]),
                                   weights={"generated": 1.0}, sample_logits=samples, sample_labels=np.array([0, 1]))
    assert float(other["generated"]) == pytest.approx(float(losses.supervised_cross_entropy(samples, [0, 1])))
    assert float(other["generated"]) > 3.0 > float(own["generated"])
    assert float(other["unsupervised"]) == pytest.approx(float(own["unsupervised"]))


def test_hinge_losses_of_d_and_g():
    real, fake = np.array([2.0, 0.5], np.float32), np.array([-2.0, 0.0], np.float32)
    hinge = losses.weighted_pair_discriminator_loss(real, np.array([1.0, 1.0]), fake, hinge=True)
    # relu(1 - 2) = 0 and relu(1 - 0.5) = 0.5 for the reals; relu(1 - 2) = 0 and relu(1 + 0) = 1 for the fakes.
    assert float(hinge["real"]) == pytest.approx(0.25) and float(hinge["generated"]) == pytest.approx(0.5)
    weighted = losses.weighted_pair_discriminator_loss(real, np.array([0.0, 1.0]), fake, hinge=True)
    assert float(weighted["real"]) == pytest.approx(0.5)
    generator = losses.generator_loss(fake, None, None, None, None, adversarial_weight=2.0,
                                      feature_matching_weight=1.0, classification_weight=1.0, hinge=True)
    assert set(generator) == {"adversarial", "total"}
    assert float(generator["adversarial"]) == pytest.approx(1.0) and float(generator["total"]) == pytest.approx(2.0)


def test_classifier_loss_refuses_a_weight_for_a_term_it_does_not_have():
    logits = np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match=r"received \['supervised'\]"):
        losses.classifier_loss(logits, np.array([0]), logits, logits, np.array([1]), weights={"supervised": 2.0})


def test_generator_loss_weights_its_components():
    result = losses.generator_loss(np.array([1.0]), np.ones((2, 3)), np.zeros((2, 3)),
                                   np.array([[0.0, 1.0]]), np.array([1]), adversarial_weight=2.0,
                                   feature_matching_weight=3.0, classification_weight=4.0)
    assert float(result["feature_matching"]) == pytest.approx(1.0)
    assert float(result["adversarial"]) == pytest.approx(_softplus(-1.0))
    assert float(result["total"]) == pytest.approx(
        2.0 * _softplus(-1.0) + 3.0 + 4.0 * float(result["classification"]))


def test_linear_ramp():
    assert [float(linear_ramp(step, 10, 4)) for step in (0, 9, 10, 11, 13, 20)] == [0, 0, 0.25, 0.5, 1, 1]
    assert float(linear_ramp(0, 0, 0)) == 1.0


def test_classifier_loss_without_discriminator_pairs_omits_the_adversarial_term():
    labeled = np.array([[2.0, 0.0]], np.float32)
    result = losses.classifier_loss(labeled, np.array([0]), labeled, labeled, np.array([1]),
                                    weights={"unsupervised": 1.0, "adversarial": 5.0, "generated": 0.0})
    assert "adversarial" not in result
    assert float(result["total"]) == pytest.approx(float(result["supervised"] + result["unsupervised"]))


def test_generator_loss_without_discriminator_omits_the_adversarial_term():
    result = losses.generator_loss(None, np.ones((2, 3)), np.zeros((2, 3)), np.array([[0.0, 1.0]]),
                                   np.array([1]), adversarial_weight=5.0,
                                   feature_matching_weight=1.0, classification_weight=0.0)
    assert "adversarial" not in result
    assert float(result["total"]) == pytest.approx(1.0)


# --- M2 ----------------------------------------------------------------------------------------------

def test_gaussian_kl_matches_the_closed_form_and_is_zero_at_the_prior():
    mean = np.array([[0.0, 0.0], [1.0, -2.0]], np.float32)
    log_variance = np.array([[0.0, 0.0], [np.log(4.0), 0.0]], np.float32)
    expected = [0.0, 0.5 * ((1 + 4 - 1 - np.log(4.0)) + (4 + 1 - 1 - 0))]
    np.testing.assert_allclose(losses.gaussian_kl_to_standard_normal(mean, log_variance).numpy(), expected,
                               rtol=1e-6)


def test_bernoulli_likelihood_reads_images_in_minus_one_one_as_pixel_means():
    images = np.array([[[-1.0], [1.0], [0.0]]], np.float32)[None]  # pixels 0, 1, 0.5
    logits = np.zeros_like(images)  # p = 0.5 everywhere
    assert float(losses.bernoulli_negative_log_likelihood(logits, images)[0]) == pytest.approx(3 * np.log(2.0))


def test_m2_unlabeled_term_marginalises_the_bound_under_q_and_subtracts_its_entropy():
    bounds = np.array([[10.0, 20.0], [5.0, 5.0]], np.float32)  # −L(x, y) for y = 0, 1
    logits = np.array([[np.log(3.0), 0.0], [0.0, 0.0]], np.float32)  # q = [.75, .25] and [.5, .5]
    q = np.array([[0.75, 0.25], [0.5, 0.5]])
    entropy = -(q * np.log(q)).sum(axis=1)
    expected_unlabeled = np.mean((q * bounds).sum(axis=1) - entropy)
    parts = losses.m2_loss(np.array([7.0, 9.0], np.float32), bounds, logits, logits, np.array([0, 1]),
                           classification_weight=2.0)
    assert float(parts["unlabeled"]) == pytest.approx(expected_unlabeled, rel=1e-6)
    assert float(parts["labeled"]) == pytest.approx(8.0)
    cross_entropy = np.mean([-np.log(0.75), -np.log(0.5)])
    assert float(parts["classification"]) == pytest.approx(cross_entropy, rel=1e-6)
    assert float(parts["total"]) == pytest.approx(8.0 + expected_unlabeled + 2.0 * cross_entropy, rel=1e-6)


# --- pseudo_label ------------------------------------------------------------------------------------

def test_fixmatch_uses_only_confident_weak_predictions_as_labels_for_the_strong_view():
    weak = np.array([[5.0, 0.0], [0.1, 0.0]], np.float32)  # confident (p ≈ .993) and not (p ≈ .52)
    strong = np.array([[0.0, 0.0], [3.0, -3.0]], np.float32)
    parts = losses.fixmatch_classifier_loss(weak[:1], np.array([0]), weak, strong, threshold=0.95,
                                            consistency_weight=3.0)
    # Only the first image counts, with label 0 and CE log 2; the batch mean divides by both images.
    assert float(parts["confident_fraction"]) == 0.5
    assert float(parts["pseudo_label"]) == pytest.approx(np.log(2.0) / 2, rel=1e-6)
    assert float(parts["total"]) == pytest.approx(float(parts["supervised"]) + 3.0 * np.log(2.0) / 2, rel=1e-6)


def test_weighted_pair_discriminator_ignores_pairs_of_weight_zero():
    real = np.array([2.0, -50.0], np.float32)
    parts = losses.weighted_pair_discriminator_loss(real, np.array([1.0, 0.0]), np.array([0.0], np.float32))
    assert float(parts["real"]) == pytest.approx(_softplus(-2.0), rel=1e-6)
    assert float(parts["generated"]) == pytest.approx(np.log(2.0), rel=1e-6)


def test_mode_seeking_is_the_inverse_of_image_distance_over_latent_distance():
    images, others = tf.constant([[0.0, 0.0], [1.0, 1.0]]), tf.constant([[1.0, 1.0], [1.0, 1.0]])
    latents, other_latents = tf.constant([[0.0], [0.0]]), tf.constant([[2.0], [-2.0]])
    # mean |x - x'| = 0.5, mean |z - z'| = 2
    assert float(losses.mode_seeking(images, others, latents, other_latents)) == pytest.approx(
        1.0 / (0.25 + 1e-5), rel=1e-6)


def test_mode_seeking_falls_as_images_from_different_latents_move_apart():
    latents, other_latents = tf.zeros([4, 3]), tf.ones([4, 3])
    images = tf.Variable(tf.fill([4, 5], 0.5))
    others = tf.fill([4, 5], 0.4)
    with tf.GradientTape() as tape:
        value = losses.mode_seeking(images, others, latents, other_latents)
    gradient = tape.gradient(value, images)
    assert np.all(gradient.numpy() < 0)  # raising the images (away from `others`) lowers the loss
    same = losses.mode_seeking(others, others, latents, other_latents)
    assert float(same) == pytest.approx(1e5) and float(same) > float(value)
