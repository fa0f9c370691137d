"""The parts methods compose: C with its weight average, G and D, each a network with its own Adam, and
the updates several methods share. A method holds parts and writes its own train step; it never
inherits another method's."""

import tensorflow as tf

from ssl_gen import augment, losses, optim, seeds
from ssl_gen.models import architectures
from ssl_gen.training import distribute
from ssl_gen.methods.base import Method, apply_gradients, step_seeds

AUGMENTATIONS = ("shift", "affine", "elastic", "cutout")


class AveragedClassifier:
    """C(x) = P(y|x), trained by Adam, and the exponential moving average of its weights, which is the
    classifier evaluation and export use."""

    def __init__(self, config, spec, total_steps):
        self.network = architectures.classifier(config, spec, seed=seeds.derive(config.seed, "classifier"))
        self.average_network = architectures.classifier(config, spec)
        self.optimizer = optim.adam(config, total_steps)
        self.average = optim.WeightAverage(self.network, self.average_network, config.ema_decay)

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

    def __init__(self, config, spec, total_steps, learning_rate=None):
        """`learning_rate` None: --learning_rate, as in improved-gan."""
        self.latent_dim = config.latent_dim
        self.network = architectures.generator(config, spec, seed=seeds.derive(config.seed, "generator"))
        self.optimizer = optim.adam(config, total_steps, learning_rate, beta_1=config.generator_adam_beta1)

    def __call__(self, latents, labels, training=False):
        return tf.cast(self.network(latents, labels, training=training), tf.float32)

    def build(self):
        self.network(self.sample_latents(2, 0), tf.zeros((2,), tf.int32))
        self.optimizer.build(self.network.trainable_variables)

    def sample_latents(self, count, seed):
        return tf.random.stateless_uniform([count, self.latent_dim], seed=[seed, 0])

    def adopt_tanh_scale(self, trained_scale):
        self.network.adopt_tanh_scale(trained_scale, self.optimizer)

    def checkpoint_items(self):
        return {"generator": self.network, "generator_optimizer": self.optimizer}


class PairDiscriminator:
    """D(x, y): tells real image–label pairs from made ones, trained by Adam."""

    def __init__(self, config, spec, total_steps, learning_rate=None):
        self.num_classes = spec.num_classes
        self.network = architectures.discriminator(config, spec, seed=seeds.derive(config.seed, "discriminator"))
        self.optimizer = optim.adam(config, total_steps, learning_rate)
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
        return self.config.latent_dim

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
        return config.architecture == "mlp"  # the conv G has no tanh scale

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
        return self.generator(latents, labels)

    def sample_latents(self, count, seed):
        return self.generator.sample_latents(count, seed)


# --- updates shared by Improved-GAN and Triple-GAN -----------------------------------------------------

def view_seeds(step_seed, view):
    """{augmentation: stateless seed} of one view (0: the labeled batch, 1: the consistency copy) in
    one step: each augmentation of each view draws from its own named stream."""
    view_seed = tf.random.experimental.stateless_fold_in(step_seed, view)
    return {name: tf.random.experimental.stateless_fold_in(view_seed, seeds.stream_id(name))
            for name in AUGMENTATIONS}


def augmented(config, images, iterations, view=0):
    """--augment_* on C's images at update `iterations`; `view` 0 is the labeled batch, 1 the unlabeled
    consistency copy, which --consistency_cutout also erases a square from."""
    cutout = config.consistency_cutout if view else 0
    if not (config.augment_shift or config.augment_rotation or config.augment_scale or cutout
            or config.augment_elastic):
        return images
    (step_seed,) = step_seeds(iterations, 1)
    drawn = view_seeds(step_seed, view)
    if config.augment_elastic:
        images = augment.random_elastic(images, config.augment_elastic, drawn["elastic"])
    images = augment.random_affine(images, config.augment_rotation, config.augment_scale, drawn["affine"])
    images = augment.random_shift(images, config.augment_shift, drawn["shift"])
    if cutout:
        images = augment.cutout(images, cutout, drawn["cutout"], fill=-1.0)
    return images


def reference(classifier_network, images):
    """C's labels for a second real batch (D's real pairs) and its features (G's feature-matching target)."""
    logits, features = classifier_network.logits_and_features(images, training=True)
    return {"labels": tf.argmax(logits, axis=1, output_type=tf.int32), "features": tf.stop_gradient(features)}


def classifier_update(classifier, config, labeled, unlabeled, generated, generated_labels, ramp,
                      pair_logits_of=None):
    """C's Improved-GAN update: labeled cross-entropy, the real/fake term against G's images, the
    consistency term (--unlabeled_consistency_weight) and, ramped in, R_p on G's samples.

    Args:
      classifier: an AveragedClassifier.
      pair_logits_of: (unlabeled images, C's logits of them) → D's logits of C's pairs, when C also
        learns through D(x, y); None otherwise.
    Returns:
      (C's named losses, C's logits of the unlabeled batch with the gradient stopped).
    """
    consistency = config.unlabeled_consistency_weight > 0
    iterations = classifier.optimizer.iterations
    # Only the labeled images are augmented for the supervised term: augmenting all three batches alike
    # let C tell G's images apart from real ones. The consistency copy enters no real/fake term.
    batches = [augmented(config, labeled["image"], iterations), unlabeled["image"], generated]
    if consistency:
        batches.append(augmented(config, unlabeled["image"], iterations, view=1))
    sizes = [tf.shape(batch)[0] for batch in batches]
    with tf.GradientTape() as tape:
        # One forward pass over all batches: fewer, larger matmuls are faster on a CPU.
        logits = tf.split(classifier.network(tf.concat(batches, 0), training=True), sizes)
        labeled_logits, unlabeled_logits, generated_logits = logits[:3]
        pair_logits = None
        if pair_logits_of is not None:
            with tape.stop_recording():
                pair_logits = pair_logits_of(unlabeled["image"], unlabeled_logits)
        weights = {"unsupervised": config.unsupervised_weight,
                   "adversarial": ramp * config.classifier_adversarial_weight,
                   "generated": ramp * config.classifier_generated_weight,
                   "balance": config.class_balance_weight, "entropy": config.classifier_entropy_weight,
                   "consistency": config.unlabeled_consistency_weight}
        named = losses.classifier_loss(
            labeled_logits, labeled["label"], unlabeled_logits, generated_logits, generated_labels,
            weights=weights, pair_logits_of_unlabeled=pair_logits,
            transformed_unlabeled_logits=logits[3] if consistency else None,
            consistency_threshold=config.confidence_threshold, batch_mean=distribute.global_batch_mean)
    apply_gradients(tape, named["total"], classifier.network, classifier.optimizer)
    return named, tf.stop_gradient(unlabeled_logits)


def generator_update(generator, classifier_network, config, latents, labels, target, ramp, pair_logits_of=None):
    """G's update: feature matching on C's last hidden layer against `target` (from `reference`) and,
    ramped in, C's cross-entropy on G's samples and the non-saturating loss through D.

    Args:
      generator: a Generator.
      pair_logits_of: (G's images, their labels) → D's logits, when G also learns through D(x, y).
    Returns:
      G's named losses.
    """
    with tf.GradientTape() as tape:
        generated = generator(latents, labels, training=True)
        pair_logits = None if pair_logits_of is None else pair_logits_of(generated, labels)
        logits, features = classifier_network.logits_and_features(generated, training=True)
        named = losses.generator_loss(
            pair_logits, features, target["features"], logits, labels,
            adversarial_weight=ramp * config.generator_adversarial_weight,
            feature_matching_weight=config.generator_feature_matching_weight,
            classification_weight=ramp * config.generator_classification_weight,
            batch_mean=distribute.global_batch_mean)
    apply_gradients(tape, named["total"], generator.network, generator.optimizer)
    return named
