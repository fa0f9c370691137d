"""Classifier first, generator from its labels: FixMatch (Sohn et al., 2020; google-research/fixmatch)
for C, and a conditional GAN trained on every unlabeled image with C's confident pseudo-labels, the idea
of DPT / S3GAN (Lučić et al., 2019).

Both run in every step, so the generator's labels improve as C does (the "iterate" of those papers,
done continuously). D(x, y) sees real labeled pairs and pseudo-labeled pairs (x_u, argmax C̄(x_u)) whose
weight is 1 when the averaged classifier C̄ reaches `confidence_threshold`, and G's pairs as fakes.
G matches the mean of D's last hidden layer on the pseudo-labeled pairs (Improved-GAN's feature matching,
here on pairs, so it is conditional) plus `generator_adversarial_weight` times the non-saturating loss
through D. G and D train at `gan_learning_rate`; at the classifier's 3e-3, with the non-saturating loss
alone or with feature matching, D's loss fell to 0 and G saturated into one image by step 4,000.
`generator_mode_seeking_weight` adds MSGAN's term (losses.mode_seeking), for which G draws each label a
second time from another row's latent.
C with its weight average, G and D are the parts Triple-GAN also composes (ssl_gen/methods/parts.py);
only the objectives differ.

With `classifier_from`, C is a finished run's averaged classifier, loaded once and kept fixed: the
best classifier training found (e.g. `--preset=mnist100_fm`, whose own G ignores the label) gives the
pseudo-labels, and only G and D train. The source run must share the data, the labeled split and C's
shape (checked in `Config.validate`), so the pair still uses only that run's labels.
"""

import os

import tensorflow as tf

from ssl_gen import augment, losses
from ssl_gen.errors import ConfigError
from ssl_gen.methods import parts
from ssl_gen.methods.base import apply_gradients, named_losses, step_seeds
from ssl_gen.training import distribute, trainer


class PseudoLabel(parts.ComposedMethod):
    unlabeled_views = 1  # Weak and strong views are made in the step from the same images.
    collapse_loss = None  # C is not a real/fake judge here (D is): its losses cannot show a collapse.

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        self.classifier = parts.AveragedClassifier(config, spec, total_steps)
        # A GAN's rate, not the classifier's: at 3e-3 D's loss fell to 0 and G saturated by step 4,000.
        self.generator = parts.Generator(config, spec, total_steps, config.gan_learning_rate)
        self.discriminator = parts.PairDiscriminator(config, spec, total_steps, config.gan_learning_rate)

    def initialize(self, unlabeled_images):
        super().initialize(unlabeled_images)
        if self.config.classifier_from:
            self._load_fixed_classifier(self.config.classifier_from)

    def _load_fixed_classifier(self, run_dir):
        latest = tf.train.latest_checkpoint(os.path.join(run_dir, trainer.CHECKPOINT_DIR))
        if latest is None:
            raise ConfigError(f"classifier_from={run_dir!r} has no checkpoint in "
                              f"{os.path.join(run_dir, trainer.CHECKPOINT_DIR)!r}")
        # The source's own checkpoint names for C and its average (parts.AveragedClassifier).
        networks = tf.train.Checkpoint(**{name: trainer.trackable(item) for name, item
                                          in self.classifier.checkpoint_items().items()
                                          if name in ("classifier", "classifier_average")})
        networks.restore(latest).expect_partial().assert_existing_objects_matched()

    def train_step(self, labeled, unlabeled):
        latents, generated_labels = unlabeled["latent"], unlabeled["generated_label"]
        named = {}
        if not self.config.classifier_from:
            seeds = step_seeds(self.classifier.optimizer.iterations, 3)
            named.update(named_losses("classifier", self._fixmatch_update(labeled, unlabeled, seeds)))
        discriminator_losses, reference_features = self._pair_discriminator_update(
            labeled, unlabeled, latents, generated_labels)
        generator_losses = self._conditional_generator_update(latents, generated_labels, reference_features)
        if not self.config.classifier_from:  # A fixed C's average would drift toward its raw weights.
            self.classifier.average.update(self.generator.optimizer.iterations)
        return {**named, **named_losses("discriminator", discriminator_losses),
                **named_losses("generator", generator_losses)}

    def _fixmatch_update(self, labeled, unlabeled, seeds):
        images = tf.concat([augment.weak(labeled["image"], seeds[0]), augment.weak(unlabeled["image"], seeds[1]),
                            augment.strong(unlabeled["image"], seeds[2])], 0)
        num_labeled, num_unlabeled = tf.shape(labeled["image"])[0], tf.shape(unlabeled["image"])[0]
        with tf.GradientTape() as tape:
            labeled_logits, weak_logits, strong_logits = tf.split(
                self.classifier.network(images, training=True), [num_labeled, num_unlabeled, num_unlabeled])
            terms = losses.fixmatch_classifier_loss(labeled_logits, labeled["label"], weak_logits, strong_logits,
                                                    threshold=self.config.confidence_threshold,
                                                    consistency_weight=self.config.consistency_weight)
        apply_gradients(tape, terms["total"], self.classifier.network, self.classifier.optimizer)
        return terms

    def _pair_discriminator_update(self, labeled, unlabeled, latents, generated_labels):
        probabilities = tf.nn.softmax(self.classify(unlabeled["image"]))
        confident = losses.confidence_mask(probabilities, self.config.confidence_threshold)
        pseudo_labels = tf.argmax(probabilities, axis=1, output_type=tf.int32)
        generated = self.generator(latents, generated_labels, training=True)
        images = tf.concat([labeled["image"], unlabeled["image"], generated], 0)
        labels = tf.concat([labeled["label"], pseudo_labels, generated_labels], 0)
        weights = tf.concat([tf.ones_like(labeled["label"], tf.float32), confident], 0)
        sizes = [tf.shape(labeled["image"])[0], tf.shape(unlabeled["image"])[0], tf.shape(generated)[0]]
        with tf.GradientTape() as tape:
            logits, features = self.discriminator.network.logits_and_features(images, labels, training=True)
            labeled_logits, unlabeled_logits, fake = tf.split(logits, sizes)
            terms = losses.weighted_pair_discriminator_loss(tf.concat([labeled_logits, unlabeled_logits], 0),
                                                            weights, fake)
        apply_gradients(tape, terms["total"], self.discriminator.network, self.discriminator.optimizer)
        unlabeled_features = tf.split(features, sizes)[1]
        return terms, tf.stop_gradient(unlabeled_features)

    def _conditional_generator_update(self, latents, generated_labels, reference_features):
        config = self.config
        with tf.GradientTape() as tape:
            generated = self.generator(latents, generated_labels, training=True)
            pair_logits, features = self.discriminator.network.logits_and_features(generated, generated_labels,
                                                                                   training=True)
            terms = losses.generator_loss(
                pair_logits, features, reference_features, self.classifier.network(generated, training=False),
                generated_labels, adversarial_weight=config.generator_adversarial_weight,
                feature_matching_weight=config.generator_feature_matching_weight,
                classification_weight=config.generator_classification_weight,
                batch_mean=distribute.global_batch_mean)
            if config.generator_mode_seeking_weight:
                other_latents = tf.roll(latents, 1, axis=0)  # each label with another row's latent
                others = self.generator.network(other_latents, generated_labels, training=True)
                terms["mode_seeking"] = losses.mode_seeking(generated, others, latents, other_latents)
                terms["total"] += config.generator_mode_seeking_weight * terms["mode_seeking"]
        apply_gradients(tape, terms["total"], self.generator.network, self.generator.optimizer)
        return terms
