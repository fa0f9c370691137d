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
best classifier training found (e.g. `--preset=improved_gan_mnist`, whose own G ignores the label) gives the
pseudo-labels, and only G and D train. The source run must share the data, the labeled split and C's
shape (checked in `Settings.validate`), so the pair still uses only that run's labels.
"""

import dataclasses
import os

import tensorflow as tf

from ssl_gen import augment, losses, settings
from ssl_gen.errors import ConfigError
from ssl_gen.methods import parts
from ssl_gen.methods.base import apply_gradients, named_losses, step_seeds
from ssl_gen.settings import setting
from ssl_gen.training import trainer


@dataclasses.dataclass
class Settings:
    """FixMatch's C, the pair GAN's G and D, and where a fixed C may come from."""

    confidence_threshold: float = setting(0.95, "A pseudo-label is used only where C's probability reaches "
                                                "this (FixMatch's tau).")
    consistency_weight: float = setting(1.0, "Weight of the pseudo-label loss on strongly augmented images "
                                             "(FixMatch's lambda_u).")
    # A GAN's rate, not the classifier's: at 3e-3 D's loss fell to 0 and G saturated by step 4,000.
    gan_learning_rate: float = setting(2e-4, "Adam learning rate of G and D (C uses --learning_rate).")
    generator_adversarial_weight: float = setting(0.1, "Weight of G's non-saturating loss through D(x, y).")
    generator_feature_matching_weight: float = setting(1.0, "Weight of G's matching of D's features of the "
                                                            "pseudo-labeled pairs.")
    generator_classification_weight: float = setting(0.0, "Weight of C's cross-entropy on G's samples in G's "
                                                          "loss.")
    generator_mode_seeking_weight: float = setting(0.0, "Weight of MSGAN's mode-seeking term in G's loss, "
                                                        "against a G that ignores its latent (0: off).")
    generator_adam_beta1: float = setting(0.5, "Adam beta_1 of G alone.")
    gan_loss: str = setting("logistic", "D's and G's loss through D(x, y): logistic (non-saturating G) or hinge "
                                        "(SNGAN's).")
    labeled_pair_weight: float = setting(1.0, "Weight of each labeled pair among D's real pairs (a "
                                              "pseudo-labeled pair weighs 1 where C is confident).")
    ema_decay: float = setting(0.9999, "Decay of the moving average of C's weights used for evaluation and "
                                       "export.")
    classifier_from: str = setting("", "A finished run (same data, labeled split and C) whose averaged C is "
                                       "loaded and kept fixed; only G and D train, on its pseudo-labels.")

    def validate(self, config):
        settings.require_unit_interval(self, "confidence_threshold", "generator_adam_beta1", "ema_decay")
        settings.require_positive(self, "gan_learning_rate")
        settings.require_non_negative(self, "generator_mode_seeking_weight", "labeled_pair_weight")
        settings.require_choice(self, "gan_loss", ("logistic", "hinge"))
        if self.classifier_from:
            _check_classifier_source(config, self.classifier_from)


def _check_classifier_source(config, source_dir):
    """The source run must hold the same C, trained on the same data and labeled split as this run."""
    from ssl_gen.training import config as config_lib  # the run's Config reads this module's Settings

    source = config_lib.load(source_dir)
    differences = [f"{name}: {source_dir} has {theirs!r}, received {ours!r}"
                   for name, theirs, ours in _classifier_identity(source, config) if theirs != ours]
    if not config_lib.same_data_path(source.data_path, config.data_path):
        differences.append(f"data_path: {source_dir} has {source.data_path!r}, received {config.data_path!r}")
    if differences:
        raise ConfigError("classifier_from must name a run with this run's data, labeled split and C; "
                          + "; ".join(differences))


def _classifier_identity(source, config):
    for name in ("dataset", "num_labeled", "seed", "validation_size"):
        yield name, getattr(source, name), getattr(config, name)
    for name in ("architecture", "classifier_units", "classifier_channels"):
        yield name, getattr(source.networks, name), getattr(config.networks, name)


class PseudoLabel(parts.ComposedMethod):
    Settings = Settings
    unlabeled_views = 1  # Weak and strong views are made in the step from the same images.
    collapse_loss = None  # C is not a real/fake judge here (D is): its losses cannot show a collapse.

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        self.settings = own = config.method_settings
        self.classifier = parts.AveragedClassifier(config, spec, total_steps, own.ema_decay)
        self.generator = parts.Generator(config, spec, total_steps, own.generator_adam_beta1,
                                         own.gan_learning_rate)
        self.discriminator = parts.PairDiscriminator(config, spec, total_steps, own.gan_learning_rate)

    def initialize(self, unlabeled_images):
        super().initialize(unlabeled_images)
        if self.settings.classifier_from:
            self._load_fixed_classifier(self.settings.classifier_from)

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
        if not self.settings.classifier_from:
            seeds = step_seeds(self.classifier.optimizer.iterations, 3)
            named.update(named_losses("classifier", self._fixmatch_update(labeled, unlabeled, seeds)))
        discriminator_losses, reference_features = self._pair_discriminator_update(
            labeled, unlabeled, latents, generated_labels)
        generator_losses = self._conditional_generator_update(latents, generated_labels, reference_features)
        if not self.settings.classifier_from:  # A fixed C's average would drift toward its raw weights.
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
                                                    threshold=self.settings.confidence_threshold,
                                                    consistency_weight=self.settings.consistency_weight)
        apply_gradients(tape, terms["total"], self.classifier.network, self.classifier.optimizer)
        return terms

    def _pair_discriminator_update(self, labeled, unlabeled, latents, generated_labels):
        own = self.settings
        return parts.pseudo_labeled_discriminator_update(
            self.discriminator, labeled, unlabeled["image"], tf.nn.softmax(self.classify(unlabeled["image"])),
            self.generator(latents, generated_labels, training=True), generated_labels,
            confidence_threshold=own.confidence_threshold, labeled_pair_weight=own.labeled_pair_weight,
            hinge=own.gan_loss == "hinge")

    def _conditional_generator_update(self, latents, generated_labels, reference_features):
        own = self.settings
        return parts.conditional_generator_update(
            self.generator, self.discriminator, latents, generated_labels, reference_features,
            lambda images: self.classifier.network(images, training=False),
            adversarial_weight=own.generator_adversarial_weight,
            feature_matching_weight=own.generator_feature_matching_weight,
            classification_weight=own.generator_classification_weight,
            mode_seeking_weight=own.generator_mode_seeking_weight, hinge=own.gan_loss == "hinge")
