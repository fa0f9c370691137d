"""Triple-GAN (Li et al., 2017) with an Improved-GAN classifier (Salimans et al., 2016).

Three players, learned from zhenxuan00/triple-gan (`x2y_yz2x_xy2p_ssl_mnist.py`) and openai/improved-gan
(`train_mnist_feature_matching.py`):
- C(x) = P(y|x) learns from the labeled cross-entropy, from Improved-GAN's real/fake term
  (σ(logsumexp C(x)) tells unlabeled images from G's), through D (its pairs (x_u, argmax C) should look
  real) and from G's samples with their conditioning labels (R_p).
- D(x, y) tells real pairs — labeled pairs, and unlabeled images with C's labels as in triple-gan's code —
  from G's pairs (x_g, y) and C's pairs (x_u, argmax C(x_u)).
- G(z, y) = P(x|y) learns through D, by feature matching on C's last hidden layer (what makes C good),
  and by C's cross-entropy on its samples.
Every term that couples the players through labels (C through D, R_p, G through D, G through C's
cross-entropy) ramps in after `warmup_steps`: before that the model is Improved-GAN, which makes C good
first. With G's D-term on from the start, G drifted off C's features and the run collapsed at ~2k steps
(FM loss 0.3 → 30, C's unsupervised loss → 0).
The classifier used for evaluation and export is an exponential moving average of C.
"""

import keras
import tensorflow as tf

from ssl_gen import architectures, distribute, losses, optim
from ssl_gen.methods.base import Method, apply_gradients, named_losses


class TripleGan(Method):
    unlabeled_views = 2

    @property
    def uses_discriminator(self):
        return self.config.generator_adversarial_weight > 0 or self.config.classifier_adversarial_weight > 0

    @property
    def latent_dim(self):
        return self.config.latent_dim

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        seed = config.seed
        self.classifier = architectures.classifier(config, spec, seed=seed * 7919 + 1)
        self.classifier_average = architectures.classifier(config, spec)
        self.discriminator = architectures.discriminator(config, spec, seed=seed * 7919 + 2)
        self.generator = architectures.generator(config, spec, seed=seed * 7919 + 3)
        self.classifier_optimizer = optim.adam(config, total_steps)
        self.discriminator_optimizer = optim.adam(config, total_steps)
        self.generator_optimizer = optim.adam(config, total_steps)
        self.average = optim.WeightAverage(self.classifier, self.classifier_average, config.ema_decay)
        self.noise = tf.random.Generator.from_seed(seed)

    # --- construction -------------------------------------------------------------------------------
    def build(self):
        images = tf.zeros((2,) + tuple(self.spec.image_shape))
        labels = tf.zeros((2,), tf.int32)
        self.classifier(images)
        self.classifier_average(images)
        self.discriminator(images, labels)
        self.generator(self.sample_latents(2, 0), labels)
        for network, optimizer in self._updates():
            optimizer.build(network.trainable_variables)

    def initialize(self, unlabeled_images):
        """improved-gan's data-dependent weight-norm init of C and D (noise on), then copy C to its average."""
        labels = self.noise.uniform([tf.shape(unlabeled_images)[0]], 0, self.spec.num_classes, tf.int32)
        self.classifier.logits_and_features(unlabeled_images, training=True, initialize=True)
        self.discriminator(unlabeled_images, labels, training=True, initialize=True)
        self.average.reset()

    def _updates(self):
        return ((self.classifier, self.classifier_optimizer),
                (self.discriminator, self.discriminator_optimizer),
                (self.generator, self.generator_optimizer))

    def checkpoint_items(self):
        return {"classifier": self.classifier, "classifier_average": self.classifier_average,
                "discriminator": self.discriminator, "generator": self.generator,
                "classifier_optimizer": self.classifier_optimizer,
                "discriminator_optimizer": self.discriminator_optimizer,
                "generator_optimizer": self.generator_optimizer, "noise": self.noise}

    # --- inference ----------------------------------------------------------------------------------
    def classify(self, images):
        return tf.cast(self.classifier_average(images, training=False), tf.float32)

    def classify_without_average(self, images):
        """C's current weights; logged beside the average to show what averaging buys."""
        return tf.cast(self.classifier(images, training=False), tf.float32)

    def generate(self, labels, latents):
        return tf.cast(self.generator(latents, labels, training=False), tf.float32)

    def sample_latents(self, count, seed):
        # The anchors' prior: z ~ U(0, 1)^d.
        return tf.random.stateless_uniform([count, self.config.latent_dim], seed=[seed, 0])

    # --- training -----------------------------------------------------------------------------------
    def train_step(self, labeled, unlabeled):
        config = self.config
        ramp = optim.linear_ramp(self.classifier_optimizer.iterations, config.warmup_steps,
                                 config.warmup_steps)
        # G's inputs come with the batch (data.generator_inputs): class-balanced labels, and the same
        # draws however the global batch is split over replicas.
        latents, generated_labels = unlabeled["latent"], unlabeled["generated_label"]

        # G's forward pass is cheap next to C's and D's: it is run again under G's own tape below
        # (GradientTape.stop_recording pauses every tape, so the updates cannot nest).
        generated = tf.cast(self.generator(latents, generated_labels, training=True), tf.float32)
        classifier_losses, unlabeled_logits, reference = self._classifier_update(
            labeled, unlabeled, generated, generated_labels, ramp)
        discriminator_losses = {}
        if self.uses_discriminator:  # Python branch: with every D term off the model is Improved-GAN.
            discriminator_losses = named_losses("discriminator", self._discriminator_update(
                labeled, unlabeled, unlabeled_logits, reference, generated, generated_labels))
        with tf.GradientTape() as generator_tape:
            generated = tf.cast(self.generator(latents, generated_labels, training=True), tf.float32)
            pair_logits = (self.discriminator(generated, generated_labels, training=True)
                           if self.uses_discriminator else None)
            logits, features = self.classifier.logits_and_features(generated, training=True)
            generator_losses = losses.generator_loss(
                pair_logits, features, reference["features"], logits, generated_labels,
                ramp * config.generator_adversarial_weight, config.generator_feature_matching_weight,
                ramp * config.generator_classification_weight, batch_mean=distribute.global_batch_mean)
        apply_gradients(generator_tape, generator_losses["total"], self.generator,
                        self.generator_optimizer)
        self.average.update(self.generator_optimizer.iterations)
        return {**named_losses("classifier", classifier_losses), **discriminator_losses,
                **named_losses("generator", generator_losses)}

    def _classifier_update(self, labeled, unlabeled, generated, generated_labels, ramp):
        config = self.config
        # The second unlabeled view gives G's feature-matching target and D's pseudo-labeled real pairs.
        reference_logits, reference_features = self.classifier.logits_and_features(
            unlabeled["image2"], training=True)
        reference = {"labels": tf.argmax(reference_logits, axis=1, output_type=tf.int32),
                     "features": tf.stop_gradient(reference_features)}
        sizes = [tf.shape(labeled["image"])[0], tf.shape(unlabeled["image"])[0], tf.shape(generated)[0]]
        with tf.GradientTape() as tape:
            # One forward pass over the three batches: fewer, larger matmuls are faster on a CPU.
            logits = self.classifier(tf.concat([labeled["image"], unlabeled["image"], generated], 0),
                                     training=True)
            labeled_logits, unlabeled_logits, generated_logits = tf.split(logits, sizes)
            pair_logits = None
            if config.classifier_adversarial_weight:  # A Python branch: skips D's pass when unused.
                with tape.stop_recording():
                    pair_logits = self.discriminator(
                        unlabeled["image"], tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32),
                        training=True)
            classifier_losses = losses.classifier_loss(
                labeled_logits, labeled["label"], unlabeled_logits, generated_logits, generated_labels,
                pair_logits, config.unsupervised_weight, ramp * config.classifier_adversarial_weight,
                ramp * config.classifier_generated_weight)
        apply_gradients(tape, classifier_losses["total"], self.classifier, self.classifier_optimizer)
        return classifier_losses, tf.stop_gradient(unlabeled_logits), reference

    def _discriminator_update(self, labeled, unlabeled, unlabeled_logits, reference, generated,
                              generated_labels):
        images = tf.concat([labeled["image"], unlabeled["image2"], generated, unlabeled["image"]], 0)
        labels = tf.concat([labeled["label"], reference["labels"], generated_labels,
                            tf.argmax(unlabeled_logits, axis=1, output_type=tf.int32)], 0)
        num_real = tf.shape(labeled["image"])[0] + tf.shape(unlabeled["image2"])[0]
        sizes = [num_real, tf.shape(generated)[0], tf.shape(unlabeled["image"])[0]]
        with tf.GradientTape() as tape:
            real, fake_generated, fake_classified = tf.split(
                self.discriminator(images, labels, training=True), sizes)
            discriminator_losses = losses.discriminator_loss(real, fake_generated, fake_classified)
        apply_gradients(tape, discriminator_losses["total"], self.discriminator,
                        self.discriminator_optimizer)
        return discriminator_losses
