"""Pure loss functions: tensors in, a dict of named scalar components out.

Notation as in the authors' code: l(x) are the K logits of C, Z(x) = logsumexp_k l_k(x); Improved-GAN's
implicit discriminator is D(x) = σ(Z(x)). Every function averages over its own batch.
"""

import tensorflow as tf


def _mean(values):
    return tf.reduce_mean(tf.cast(values, tf.float32))


def supervised_cross_entropy(logits, labels):
    return _mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32)))


def improved_gan_unsupervised(real_logits, fake_logits):
    """½[−log D(x_u) − log(1 − D(G(z)))] with D = σ(Z), written stably in Z (improved-gan `l_unl`)."""
    real_z = tf.reduce_logsumexp(tf.cast(real_logits, tf.float32), axis=1)
    fake_z = tf.reduce_logsumexp(tf.cast(fake_logits, tf.float32), axis=1)
    return 0.5 * (_mean(tf.nn.softplus(-real_z)) + _mean(tf.nn.softplus(fake_z)))


def _batch_mean(values):
    return tf.reduce_mean(values, axis=0)


def feature_matching(fake_features, real_features, batch_mean=_batch_mean):
    """Mean over features of (batch mean on fakes − batch mean on reals)², Improved-GAN's G loss.

    `batch_mean` lets a distributed step take the means over the global batch.
    """
    difference = (batch_mean(tf.cast(fake_features, tf.float32))
                  - batch_mean(tf.cast(real_features, tf.float32)))
    return _mean(tf.square(difference))


def confidence_weighted_adversarial(classifier_logits, pair_logits):
    """C's loss through D (Triple-GAN, `argmax` objective): E[p_max(x_u) · −log D(x_u, argmax C(x_u))].

    Only p_max carries C's gradient; the argmax label is not differentiable.
    """
    probabilities = tf.nn.softmax(tf.cast(classifier_logits, tf.float32))
    confidence = tf.reduce_max(probabilities, axis=1)
    return _mean(confidence * tf.nn.softplus(-tf.stop_gradient(tf.cast(pair_logits, tf.float32))))


def class_balance(logits, batch_mean=_batch_mean):
    """KL(uniform ‖ batch mean of C's probabilities): 0 when C spreads a batch evenly over the classes.

    Triple-GAN's 1e-3·CE(mean_batch C(x_u), uniform) minus its constant log K. It grows when C gives
    whole classes to one cluster, a failure seen on MNIST with 20 labels. `batch_mean` as in
    `feature_matching`: a distributed step measures the global batch's balance.
    """
    probabilities = tf.nn.softmax(tf.cast(logits, tf.float32))
    mean = batch_mean(probabilities)
    classes = tf.cast(tf.shape(mean)[0], tf.float32)
    return -tf.reduce_mean(tf.math.log(mean + 1e-8)) - tf.math.log(classes)


def prediction_entropy(logits):
    """Mean entropy of C's class probabilities (Triple-GAN's H(C(x_u)), weight 0.3 in its C loss).

    Minimising it makes C commit each unlabeled image to one class, so a cluster takes the label of the
    labeled images inside it: Improved-GAN's real/fake term only asks that *some* logit be high.
    """
    logits = tf.cast(logits, tf.float32)
    probabilities = tf.nn.softmax(logits)
    return _mean(-tf.reduce_sum(probabilities * tf.nn.log_softmax(logits), axis=1))


def confidence_mask(probabilities, threshold):
    """1.0 for each image whose largest class probability reaches `threshold` (FixMatch's τ), else 0.0."""
    return tf.cast(tf.reduce_max(probabilities, axis=1) >= threshold, tf.float32)


def prediction_consistency(target_logits, logits, threshold=0.0):
    """KL(p_target ‖ p) over the images whose target reaches `threshold` in its largest probability:
    C's prediction on a transformed unlabeled image should match its prediction on the image itself
    (the Π-model's consistency, Laine & Aila 2017, as a KL; FixMatch's confidence mask, Sohn et al. 2020).
    The target is fixed, so C moves only the transformed view towards it. The mean is over the whole
    batch, as FixMatch's, so images below the threshold count as zeros.

    Unmasked (threshold 0), C can give whole classes to one cluster: a constant prediction is perfectly
    consistent, and unsure targets pull towards it.

    Only log-softmax enters, whose gradient sums to zero over the classes: it reshapes P(y|x) without
    pushing Z(x), Improved-GAN's real/fake score.
    """
    target_logits = tf.stop_gradient(tf.cast(target_logits, tf.float32))
    target = tf.nn.softmax(target_logits)
    confident = confidence_mask(target, threshold)
    log_prediction = tf.nn.log_softmax(tf.cast(logits, tf.float32))
    divergence = tf.reduce_sum(target * (tf.nn.log_softmax(target_logits) - log_prediction), axis=1)
    return _mean(confident * divergence)


CLASSIFIER_TERMS = ("unsupervised", "adversarial", "generated", "balance", "entropy", "consistency")


def classifier_loss(labeled_logits, labels, unlabeled_logits, generated_logits, generated_labels, *, weights,
                    pair_logits_of_unlabeled=None, transformed_unlabeled_logits=None, consistency_threshold=0.0,
                    batch_mean=_batch_mean, sample_logits=None, sample_labels=None):
    """C: labeled CE + Improved-GAN's real/fake term + Triple-GAN's D term + R_p on G's samples + class
    balance and entropy on the unlabeled batch (both logged at any weight: they show classes merging
    and C's confidence) + consistency between the unlabeled batch and its transformed copy.

    Args:
      labeled_logits, labels: C's logits of the labeled batch and its labels.
      unlabeled_logits, generated_logits: C's logits of the unlabeled batch and of G's images.
      generated_labels: the labels G drew its images for.
      weights: {term: weight} over CLASSIFIER_TERMS (absent terms weigh 0); the supervised term weighs 1.
      pair_logits_of_unlabeled: D's logits of (x_u, C(x_u)), or None when D was not run.
      transformed_unlabeled_logits: C's logits of the unlabeled batch's transformed copy, or None.
      consistency_threshold: the confidence a target needs to count in the consistency term.
      batch_mean: the mean over the global batch (distribute.global_batch_mean under a strategy).
      sample_logits, sample_labels: C's logits of another G's samples and their labels, for R_p in place
        of `generated_logits` (the joint method: the real/fake term's G is not the conditional one).
    Returns:
      {term: value} of every term computed, and "total".
    """
    unknown = set(weights) - set(CLASSIFIER_TERMS)
    if unknown:
        raise ValueError(f"weights must name terms of {CLASSIFIER_TERMS}; received {sorted(unknown)}")
    components = {
        "supervised": supervised_cross_entropy(labeled_logits, labels),
        "unsupervised": improved_gan_unsupervised(unlabeled_logits, generated_logits),
        "generated": (supervised_cross_entropy(generated_logits, generated_labels) if sample_logits is None
                      else supervised_cross_entropy(sample_logits, sample_labels)),
        "balance": class_balance(unlabeled_logits, batch_mean),
        "entropy": prediction_entropy(unlabeled_logits),
    }
    if pair_logits_of_unlabeled is not None:
        components["adversarial"] = confidence_weighted_adversarial(unlabeled_logits, pair_logits_of_unlabeled)
    if transformed_unlabeled_logits is not None:
        components["consistency"] = prediction_consistency(unlabeled_logits, transformed_unlabeled_logits,
                                                           consistency_threshold)
    total = components["supervised"]
    for name, value in components.items():
        if name in weights:
            total += weights[name] * value
    components["total"] = total
    return components


def discriminator_loss(real_logits, generated_logits, classified_logits, classifier_share=0.5):
    """D: real pairs → 1; G's pairs (x_g, y) and C's pairs (x_u, C(x_u)) → 0, mixed by `classifier_share`."""
    real = _mean(tf.nn.softplus(-tf.cast(real_logits, tf.float32)))
    generated = _mean(tf.nn.softplus(tf.cast(generated_logits, tf.float32)))
    classified = _mean(tf.nn.softplus(tf.cast(classified_logits, tf.float32)))
    return {"real": real, "generated": generated, "classified": classified,
            "total": real + (1.0 - classifier_share) * generated + classifier_share * classified}


def generator_loss(pair_logits, fake_features, real_features, classifier_logits, labels, *,
                   adversarial_weight, feature_matching_weight, classification_weight,
                   batch_mean=_batch_mean, hinge=False):
    """G: the loss through D(x, y) (non-saturating, or −D with `hinge`) + feature matching on C + CE of C
    on its samples."""
    components, total = {}, 0.0
    if real_features is not None:  # None: G matches no features
        components["feature_matching"] = feature_matching(fake_features, real_features, batch_mean)
        total += feature_matching_weight * components["feature_matching"]
    if classifier_logits is not None:  # None: no C judges G's samples
        components["classification"] = supervised_cross_entropy(classifier_logits, labels)
        total += classification_weight * components["classification"]
    components["total"] = total
    if pair_logits is not None:  # None when D is not used.
        pair_logits = tf.cast(pair_logits, tf.float32)
        components["adversarial"] = _mean(-pair_logits if hinge else tf.nn.softplus(-pair_logits))
        components["total"] += adversarial_weight * components["adversarial"]
    return components


def mode_seeking(images, other_images, latents, other_latents, epsilon=1e-5):
    """MSGAN's term (Mao et al., 2019; HelenMao/MSGAN): 1 / (mean |x − x'| / mean |z − z'| + ε) for
    G's images x, x' from latents z, z' with the same labels. Minimising it pays G for using its
    latent within a class, which feature matching and D's per-image judgement do not."""
    image_distance = _mean(tf.abs(tf.cast(images, tf.float32) - tf.cast(other_images, tf.float32)))
    latent_distance = _mean(tf.abs(tf.cast(latents, tf.float32) - tf.cast(other_latents, tf.float32)))
    return 1.0 / (image_distance / latent_distance + epsilon)


# --- M2 (Kingma et al., 2014): per-example terms of the variational bound, in nats -------------------

def gaussian_kl_to_standard_normal(mean, log_variance):
    """KL(N(mean, exp(log_variance)) ‖ N(0, I)) per example."""
    return 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance, axis=1)


def bernoulli_negative_log_likelihood(pixel_logits, images):
    """−log p(x | ·) per example, with images in [-1, 1] read as Bernoulli means in [0, 1]."""
    targets = (tf.cast(images, tf.float32) + 1.0) / 2.0
    per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=tf.cast(pixel_logits, tf.float32))
    return tf.reduce_sum(tf.reshape(per_pixel, [tf.shape(per_pixel)[0], -1]), axis=1)


def m2_loss(labeled_bound, unlabeled_bounds, unlabeled_logits, labeled_logits, labels, *,
            classification_weight):
    """M2's J^α as batch means: −L(x_l, y_l) + U(x_u) + α·CE(q(y|x_l), y_l).

    `labeled_bound` [B_l] and `unlabeled_bounds` [B_u, K] are −L(x, y) (negative ELBOs, with −log p(y));
    U(x) = Σ_y q(y|x)·(−L(x, y)) − H(q(y|x)).
    """
    probabilities = tf.nn.softmax(tf.cast(unlabeled_logits, tf.float32))
    log_probabilities = tf.nn.log_softmax(tf.cast(unlabeled_logits, tf.float32))
    entropy = -tf.reduce_sum(probabilities * log_probabilities, axis=1)
    components = {
        "labeled": _mean(labeled_bound),
        "unlabeled": _mean(tf.reduce_sum(probabilities * unlabeled_bounds, axis=1) - entropy),
        "classification": supervised_cross_entropy(labeled_logits, labels),
    }
    components["total"] = (components["labeled"] + components["unlabeled"]
                           + classification_weight * components["classification"])
    return components


# --- pseudo_label: FixMatch for C, then a conditional GAN on C's labels ------------------------------

def fixmatch_classifier_loss(labeled_logits, labels, weak_logits, strong_logits, *, threshold, consistency_weight):
    """Labeled CE + λ_u·mean[1(max p_weak ≥ τ)·CE(strong, argmax p_weak)] (Sohn et al., 2020).

    The pseudo-label comes from the weak view and carries no gradient. `confident_fraction` is logged
    to show how much of the unlabeled batch is used.
    """
    probabilities = tf.stop_gradient(tf.nn.softmax(tf.cast(weak_logits, tf.float32)))
    mask = confidence_mask(probabilities, threshold)
    pseudo_labels = tf.argmax(probabilities, axis=1, output_type=tf.int32)
    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=pseudo_labels,
                                                                 logits=tf.cast(strong_logits, tf.float32))
    components = {"supervised": supervised_cross_entropy(labeled_logits, labels),
                  "pseudo_label": _mean(mask * per_example), "confident_fraction": _mean(mask)}
    components["total"] = components["supervised"] + consistency_weight * components["pseudo_label"]
    return components


def weighted_pair_discriminator_loss(real_logits, real_weights, generated_logits, hinge=False):
    """D: real pairs → 1, each weighted (labeled pairs 1, pseudo-labeled pairs by confidence); G's → 0.
    The logistic loss, or with `hinge` SNGAN's relu(1 − D(real)) + relu(1 + D(fake))."""
    real_weights = tf.cast(real_weights, tf.float32)
    real_logits, generated_logits = tf.cast(real_logits, tf.float32), tf.cast(generated_logits, tf.float32)
    if hinge:
        real_terms, generated_terms = tf.nn.relu(1.0 - real_logits), tf.nn.relu(1.0 + generated_logits)
    else:
        real_terms, generated_terms = tf.nn.softplus(-real_logits), tf.nn.softplus(generated_logits)
    real = tf.reduce_sum(real_weights * real_terms) / tf.maximum(tf.reduce_sum(real_weights), 1.0)
    generated = _mean(generated_terms)
    return {"real": real, "generated": generated, "total": real + generated}

