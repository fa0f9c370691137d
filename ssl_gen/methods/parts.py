"""The parts methods compose: C with its weight average, G and D, each a network with its own Adam, and
the updates several methods share. A method holds parts and writes its own train step; it never
inherits another method's."""

import dataclasses

import tensorflow as tf

from ssl_gen import augment, losses, optim, seeds, settings
from ssl_gen.models import architectures
from ssl_gen.settings import setting
from ssl_gen.training import distribute
from ssl_gen.errors import ConfigError
from ssl_gen.methods.base import Method, apply_gradients, step_seeds

AUGMENTATIONS = ("shift", "affine", "elastic", "cutout")


@dataclasses.dataclass
class FeatureMatchingGameSettings:
    """Improved-GAN's game, which Improved-GAN and Triple-GAN share: C is also the real/fake judge, G
    matches C's features, and C's weight average is the classifier used."""

    unsupervised_weight: float = setting(1.0, "Weight of Improved-GAN's real/fake term in C's loss.")
    classifier_generated_weight: float = setting(0.0, "Weight of C's cross-entropy on G's samples, "
                                                      "Triple-GAN's R_p (after warm-up).")
    class_balance_weight: float = setting(0.0, "Weight of KL(uniform || C's mean prediction on the "
                                               "unlabeled batch), Triple-GAN's balance term.")
    classifier_entropy_weight: float = setting(0.0, "Weight of the entropy of C's predictions on the "
                                                    "unlabeled batch (Triple-GAN's 0.3).")
    generator_feature_matching_weight: float = setting(1.0, "Weight of G's feature matching on C's last "
                                                            "hidden layer.")
    generator_classification_weight: float = setting(0.0, "Weight of C's cross-entropy on G's samples in G's "
                                                          "loss (after warm-up).")
    warmup_steps: int = setting(10000, "The label-coupling terms (C and G through D, R_p, G through C) start "
                                       "at this step and ramp to full weight over as many steps.")
    independent_generator_step: bool = setting(True, "G's update draws its own z and matches the features C, "
                                                     "after its update, gives a second real batch, as "
                                                     "improved-gan does; off, it reuses C's z and the "
                                                     "features from before C's update.")
    generator_adam_beta1: float = setting(0.5, "Adam beta_1 of G alone (Bad GAN's MNIST G: 0).")
    ema_decay: float = setting(0.9999, "Decay of the moving average of C's weights used for evaluation and "
                                       "export.")

    def validate(self, config):
        settings.require_non_negative(self, "class_balance_weight", "classifier_entropy_weight", "warmup_steps")
        settings.require_unit_interval(self, "generator_adam_beta1", "ema_decay")


@dataclasses.dataclass
class AugmentationSettings:
    """Class-blind augmentation of C's labeled images and a consistency term on the unlabeled ones."""

    augment_shift: int = setting(0, "Shift C's labeled images (and the consistency copy) by up to this many "
                                    "pixels (0: off). Unlabeled and generated images are not shifted.")
    augment_rotation: float = setting(0.0, "Rotate C's labeled images by up to this many degrees either way "
                                           "(0: off), about the centre, before --augment_shift.")
    augment_scale: float = setting(0.0, "Scale C's labeled images by a factor in [1 - this, 1 + this] "
                                        "(0: off), about the centre, before --augment_shift.")
    augment_elastic: float = setting(0.0, "Alpha (px) of an elastic distortion (Simard et al. 2003) of C's "
                                          "augmented images, before the affine transforms (0: off).")
    unlabeled_consistency_weight: float = setting(0.0, "Weight of KL(C(x_u) || C(T(x_u))), T the --augment_* "
                                                       "transforms, where C reaches --confidence_threshold "
                                                       "(0: off).")
    consistency_cutout: int = setting(0, "Side in pixels of one square erased from each image of the "
                                         "consistency copy (FixMatch's cutout; 0: off).")
    confidence_threshold: float = setting(0.95, "The consistency term's targets count where C's probability "
                                                "reaches this (FixMatch's tau).")

    def validate(self, config):
        for name in ("augment_shift", "augment_elastic", "consistency_cutout"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 pixels; received {getattr(self, name)}")
        settings.require_non_negative(self, "unlabeled_consistency_weight")
        if not 0.0 <= self.augment_rotation < 180.0:
            raise ConfigError(f"augment_rotation must lie in [0, 180) degrees; received {self.augment_rotation}")
        if not 0.0 <= self.augment_scale < 1.0:
            raise ConfigError(f"augment_scale must lie in [0, 1); received {self.augment_scale}")
        settings.require_unit_interval(self, "confidence_threshold")
        if self.consistency_cutout and not self.unlabeled_consistency_weight:
            raise ConfigError(f"consistency_cutout={self.consistency_cutout} acts on the consistency copy, "
                              f"which unlabeled_consistency_weight=0 turns off: set that weight > 0")


@dataclasses.dataclass
class ClassifierGameSettings(FeatureMatchingGameSettings, AugmentationSettings):
    """Both groups, as Improved-GAN and Triple-GAN take them."""

    def validate(self, config):
        FeatureMatchingGameSettings.validate(self, config)
        AugmentationSettings.validate(self, config)


class AveragedClassifier:
    """C(x) = P(y|x), trained by Adam, and the exponential moving average of its weights, which is the
    classifier evaluation and export use."""

    def __init__(self, config, spec, total_steps, ema_decay):
        self.network = architectures.classifier(config.networks, spec,
                                                seed=seeds.derive(config.seed, "classifier"))
        self.average_network = architectures.classifier(config.networks, spec)
        self.optimizer = optim.adam(config, total_steps)
        self.average = optim.WeightAverage(self.network, self.average_network, ema_decay)

    def build(self, images):
        self.network(images)
        self.average_network(images)
        self.optimizer.build(self.network.trainable_variables)

    def initialize(self, unlabeled_images):
        """improved-gan's data-dependent weight-norm init (noise on); the average starts as a copy."""
        self.network.logits_and_features(unlabeled_images, training=True, initialize=True)
        self.average.reset()

    def classify(self, images):
        return tf.cast(self.average_network(images, training=False), tf.float32)

    def classify_without_average(self, images):
        return tf.cast(self.network(images, training=False), tf.float32)

    def checkpoint_items(self):
        return {"classifier": self.network, "classifier_average": self.average_network,
                "classifier_optimizer": self.optimizer}


class Generator:
    """G(z, y) = P(x|y), trained by Adam, with the anchors' prior z ~ U(0, 1)^d."""

    latent_center = 0.5

    def __init__(self, config, spec, total_steps, beta_1, learning_rate=None, name="generator",
                 build_network=architectures.generator, average_decay=0.0):
        """`learning_rate` None: --learning_rate, as in improved-gan. `name` keys the checkpoint and the seed;
        `build_network(networks, spec, seed)` makes the network (by --architecture unless told).
        `average_decay` > 0 keeps a moving average of G's weights, which `sample` draws from."""
        self.latent_dim, self.name = config.networks.latent_dim, name
        self.network = build_network(config.networks, spec, seed=seeds.derive(config.seed, name))
        self.optimizer = optim.adam(config, total_steps, learning_rate, beta_1=beta_1)
        self.average_network = self.average = None
        if average_decay:
            self.average_network = build_network(config.networks, spec)
            self.average = optim.WeightAverage(self.network, self.average_network, average_decay, statistics=True)

    def __call__(self, latents, labels, training=False):
        return tf.cast(self.network(latents, labels, training=training), tf.float32)

    def sample(self, latents, labels):
        """G's images for use outside training: the weight average's where G keeps one."""
        network = self.average_network or self.network
        return tf.cast(network(latents, labels, training=False), tf.float32)

    def update_average(self):
        if self.average is not None:
            self.average.update(self.optimizer.iterations)

    def build(self):
        latents, labels = self.sample_latents(2, 0), tf.zeros((2,), tf.int32)
        self.network(latents, labels)
        self.optimizer.build(self.network.trainable_variables)
        if self.average is not None:
            self.average_network(latents, labels)
            self.average.reset()  # a restored checkpoint overwrites the copy

    def sample_latents(self, count, seed):
        return tf.random.stateless_uniform([count, self.latent_dim], seed=[seed, 0])

    def adopt_tanh_scale(self, trained_scale):
        self.network.adopt_tanh_scale(trained_scale, self.optimizer)

    def checkpoint_items(self):
        items = {self.name: self.network, f"{self.name}_optimizer": self.optimizer}
        if self.average_network is not None:
            items[f"{self.name}_average"] = self.average_network
        return items


class PairDiscriminator:
    """D(x, y): tells real image–label pairs from made ones, trained by Adam."""

    def __init__(self, config, spec, total_steps, learning_rate=None, beta_1=None):
        self.num_classes = spec.num_classes
        self.network = architectures.discriminator(config.networks, spec,
                                                   seed=seeds.derive(config.seed, "discriminator"))
        self.optimizer = optim.adam(config, total_steps, learning_rate, beta_1=beta_1)
        # Random labels for the data-dependent init, which sees real images before any pair exists.
        self.init_labels = tf.random.Generator.from_seed(seeds.derive(config.seed, "discriminator_init_labels"))

    def __call__(self, images, labels, training=False):
        return self.network(images, labels, training=training)

    def build(self, images):
        self.network(images, tf.zeros((tf.shape(images)[0],), tf.int32))
        self.optimizer.build(self.network.trainable_variables)

    def initialize(self, unlabeled_images):
        """improved-gan's data-dependent weight-norm init (noise on)."""
        labels = self.init_labels.uniform([tf.shape(unlabeled_images)[0]], 0, self.num_classes, tf.int32)
        self.network(unlabeled_images, labels, training=True, initialize=True)

    def checkpoint_items(self):
        return {"discriminator": self.network, "discriminator_optimizer": self.optimizer,
                "noise": self.init_labels}


class ComposedMethod(Method):
    """A method made of parts: `self.classifier` (AveragedClassifier), `self.generator` (Generator) and
    `self.discriminator` (PairDiscriminator, or None where the method needs no D). Building, the
    data-dependent init, checkpointing, classifying and generating come from the parts; a method writes
    its `__init__` and its own `train_step`."""

    latent_center = Generator.latent_center
    discriminator = None

    @property
    def latent_dim(self):
        return self.config.networks.latent_dim

    def _parts(self):
        return [part for part in (self.classifier, self.generator, self.discriminator) if part is not None]

    def build(self):
        images = tf.zeros((2,) + tuple(self.spec.image_shape))
        self.classifier.build(images)
        self.generator.build()
        if self.discriminator is not None:
            self.discriminator.build(images)

    def initialize(self, unlabeled_images):
        if self.discriminator is not None:
            self.discriminator.initialize(unlabeled_images)
        self.classifier.initialize(unlabeled_images)

    @classmethod
    def generator_reads_tanh_scale(cls, config):
        return config.networks.architecture == "mlp"  # the conv G has no tanh scale

    def adopt_generator_tanh_scale(self, trained_scale):
        self.generator.adopt_tanh_scale(trained_scale)

    def checkpoint_items(self):
        return {name: item for part in self._parts() for name, item in part.checkpoint_items().items()}

    def classify(self, images):
        return self.classifier.classify(images)

    def classify_without_average(self, images):
        """C's current weights; logged beside the average to show what averaging buys."""
        return self.classifier.classify_without_average(images)

    def generate(self, labels, latents):
        return self.generator.sample(latents, labels)

    def sample_latents(self, count, seed):
        return self.generator.sample_latents(count, seed)


# --- updates shared by Improved-GAN and Triple-GAN -----------------------------------------------------

def view_seeds(step_seed, view):
    """{augmentation: stateless seed} of one view (0: the labeled batch, 1: the consistency copy) in
    one step: each augmentation of each view draws from its own named stream."""
    view_seed = tf.random.experimental.stateless_fold_in(step_seed, view)
    return {name: tf.random.experimental.stateless_fold_in(view_seed, seeds.stream_id(name))
            for name in AUGMENTATIONS}


def augmented(augmentation, images, iterations, view=0):
    """--augment_* (an AugmentationSettings) on C's images at update `iterations`; `view` 0 is the labeled
    batch, 1 the unlabeled consistency copy, which --consistency_cutout also erases a square from."""
    cutout = augmentation.consistency_cutout if view else 0
    if not (augmentation.augment_shift or augmentation.augment_rotation or augmentation.augment_scale or cutout
            or augmentation.augment_elastic):
        return images
    (step_seed,) = step_seeds(iterations, 1)
    drawn = view_seeds(step_seed, view)
    if augmentation.augment_elastic:
        images = augment.random_elastic(images, augmentation.augment_elastic, drawn["elastic"])
    images = augment.random_affine(images, augmentation.augment_rotation, augmentation.augment_scale,
                                   drawn["affine"])
    images = augment.random_shift(images, augmentation.augment_shift, drawn["shift"])
    if cutout:
        images = augment.cutout(images, cutout, drawn["cutout"], fill=-1.0)
    return images


def reference(classifier_network, images):
    """C's labels for a second real batch (D's real pairs) and its features (G's feature-matching target)."""
    logits, features = classifier_network.logits_and_features(images, training=True)
    return {"labels": tf.argmax(logits, axis=1, output_type=tf.int32), "features": tf.stop_gradient(features)}


def classifier_update(classifier, settings, labeled, unlabeled, generated, generated_labels, ramp,
                      pair_logits_of=None, adversarial_weight=0.0, labeled_samples=None):
    """C's Improved-GAN update: labeled cross-entropy, the real/fake term against G's images, the
    consistency term (--unlabeled_consistency_weight) and, ramped in, R_p on G's samples.

    Args:
      classifier: an AveragedClassifier.
      settings: the method's settings, a FeatureMatchingGameSettings and an AugmentationSettings.
      pair_logits_of: (unlabeled images, C's logits of them) → D's logits of C's pairs, when C also
        learns through D(x, y), with `adversarial_weight` (ramped in); None otherwise.
      labeled_samples: (images, labels) of another G, the ones R_p reads instead of `generated`.
    Returns:
      (C's named losses, C's logits of the unlabeled batch with the gradient stopped).
    """
    consistency = settings.unlabeled_consistency_weight > 0
    iterations = classifier.optimizer.iterations
    # Only the labeled images are augmented for the supervised term: augmenting all three batches alike
    # let C tell G's images apart from real ones. The consistency copy enters no real/fake term.
    batches = [augmented(settings, labeled["image"], iterations), unlabeled["image"], generated]
    if consistency:
        batches.append(augmented(settings, unlabeled["image"], iterations, view=1))
    if labeled_samples is not None:
        batches.append(labeled_samples[0])
    sizes = [tf.shape(batch)[0] for batch in batches]
    with tf.GradientTape() as tape:
        # One forward pass over all batches: fewer, larger matmuls are faster on a CPU.
        logits = tf.split(classifier.network(tf.concat(batches, 0), training=True), sizes)
        labeled_logits, unlabeled_logits, generated_logits = logits[:3]
        pair_logits = None
        if pair_logits_of is not None:
            with tape.stop_recording():
                pair_logits = pair_logits_of(unlabeled["image"], unlabeled_logits)
        weights = {"unsupervised": settings.unsupervised_weight,
                   "adversarial": ramp * adversarial_weight,
                   "generated": ramp * settings.classifier_generated_weight,
                   "balance": settings.class_balance_weight, "entropy": settings.classifier_entropy_weight,
                   "consistency": settings.unlabeled_consistency_weight}
        named = losses.classifier_loss(
            labeled_logits, labeled["label"], unlabeled_logits, generated_logits, generated_labels,
            weights=weights, pair_logits_of_unlabeled=pair_logits,
            transformed_unlabeled_logits=logits[3] if consistency else None,
            consistency_threshold=settings.confidence_threshold, batch_mean=distribute.global_batch_mean,
            sample_logits=None if labeled_samples is None else logits[-1],
            sample_labels=None if labeled_samples is None else labeled_samples[1])
    apply_gradients(tape, named["total"], classifier.network, classifier.optimizer)
    return named, tf.stop_gradient(unlabeled_logits)


def generator_update(generator, classifier_network, settings, latents, labels, target, ramp, pair_logits_of=None,
                     adversarial_weight=0.0):
    """G's update: feature matching on C's last hidden layer against `target` (from `reference`) and,
    ramped in, C's cross-entropy on G's samples and the non-saturating loss through D.

    Args:
      generator: a Generator.
      settings: the method's FeatureMatchingGameSettings.
      pair_logits_of: (G's images, their labels) → D's logits, when G also learns through D(x, y) with
        `adversarial_weight` (ramped in).
    Returns:
      G's named losses.
    """
    with tf.GradientTape() as tape:
        generated = generator(latents, labels, training=True)
        pair_logits = None if pair_logits_of is None else pair_logits_of(generated, labels)
        logits, features = classifier_network.logits_and_features(generated, training=True)
        named = losses.generator_loss(
            pair_logits, features, target["features"], logits, labels,
            adversarial_weight=ramp * adversarial_weight,
            feature_matching_weight=settings.generator_feature_matching_weight,
            classification_weight=ramp * settings.generator_classification_weight,
            batch_mean=distribute.global_batch_mean)
    apply_gradients(tape, named["total"], generator.network, generator.optimizer)
    return named


# --- a conditional GAN on C's labels, shared by pseudo_label and joint ---------------------------------

def pseudo_labeled_discriminator_update(discriminator, labeled, unlabeled_images, probabilities, generated,
                                        generated_labels, *, confidence_threshold, labeled_pair_weight, hinge):
    """D(x, y): real pairs are the labeled ones (each weighing `labeled_pair_weight`) and the unlabeled
    images with C's labels (weighing 1 where C reaches `confidence_threshold`); G's pairs are fake.

    Args:
      probabilities: C's class probabilities of `unlabeled_images` (no gradient reaches C).
      hinge: SNGAN's hinge loss instead of the logistic one.
    Returns:
      (D's named losses, D's features of the unlabeled pairs with the gradient stopped).
    """
    confident = losses.confidence_mask(probabilities, confidence_threshold)
    pseudo_labels = tf.argmax(probabilities, axis=1, output_type=tf.int32)
    images = tf.concat([labeled["image"], unlabeled_images, generated], 0)
    labels = tf.concat([labeled["label"], pseudo_labels, generated_labels], 0)
    weights = tf.concat([tf.fill(tf.shape(labeled["label"]), float(labeled_pair_weight)), confident], 0)
    sizes = [tf.shape(labeled["image"])[0], tf.shape(unlabeled_images)[0], tf.shape(generated)[0]]
    with tf.GradientTape() as tape:
        logits, features = discriminator.network.logits_and_features(images, labels, training=True)
        labeled_logits, unlabeled_logits, fake = tf.split(logits, sizes)
        terms = losses.weighted_pair_discriminator_loss(tf.concat([labeled_logits, unlabeled_logits], 0),
                                                        weights, fake, hinge=hinge)
    apply_gradients(tape, terms["total"], discriminator.network, discriminator.optimizer)
    return terms, tf.stop_gradient(tf.split(features, sizes)[1])


def conditional_generator_update(generator, discriminator, latents, labels, reference_features,
                                 classifier_logits_of, *, adversarial_weight, feature_matching_weight,
                                 classification_weight, mode_seeking_weight, hinge, pairs_in_batch=False):
    """G(z, y) through D(x, y): the adversarial loss, matching D's features of the pseudo-labeled pairs,
    C's cross-entropy on its samples (`classifier_logits_of(images)`) and MSGAN's mode-seeking term.
    `reference_features` or `classifier_logits_of` None: that term is left out.

    Mode seeking compares two draws of each label from different latents. `pairs_in_batch`: the batch's
    second half takes the first half's labels, so one draw of G holds both images of each pair;
    otherwise G draws every label a second time from another row's latent (twice the cost).

    Returns:
      G's named losses.
    """
    if mode_seeking_weight and pairs_in_batch:
        labels = same_labels_in_both_halves(labels)
    with tf.GradientTape() as tape:
        generated = generator(latents, labels, training=True)
        pair_logits, features = discriminator.network.logits_and_features(generated, labels, training=True)
        classifier_logits = None if classifier_logits_of is None else classifier_logits_of(generated)
        terms = losses.generator_loss(
            pair_logits, features, reference_features, classifier_logits, labels,
            adversarial_weight=adversarial_weight, feature_matching_weight=feature_matching_weight,
            classification_weight=classification_weight, batch_mean=distribute.global_batch_mean, hinge=hinge)
        if mode_seeking_weight:
            if pairs_in_batch:
                half = tf.shape(latents)[0] // 2
                images, others = generated[:half], generated[half:2 * half]
                latents, other_latents = latents[:half], latents[half:2 * half]
            else:
                images, other_latents = generated, tf.roll(latents, 1, axis=0)  # another row's latent
                others = generator(other_latents, labels, training=True)
            terms["mode_seeking"] = losses.mode_seeking(images, others, latents, other_latents)
            terms["total"] += mode_seeking_weight * terms["mode_seeking"]
    apply_gradients(tape, terms["total"], generator.network, generator.optimizer)
    return terms


def same_labels_in_both_halves(labels):
    """The labels with the batch's second half set to its first half's (an odd last row keeps its own)."""
    half = tf.shape(labels)[0] // 2
    return tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)
