"""Joint: one run trains a classifier C = P(y|x) and a class-conditional generator G = P(x|y), each
helping the other.

- C plays Improved-GAN's game (Salimans et al., 2016): it tells unlabeled images from the samples of a
  second, small generator that matches C's features (Bad GAN's complement generator, Dai et al., 2017),
  with the labeled images augmented and a consistency term on the unlabeled ones.
- D(x, y) (the projection discriminator of cGAN-PD) takes the unlabeled images with the averaged C's
  confident labels as real pairs, G's (G(z, y), y) as fake; G(z, y) learns through D alone. Better labels
  from C make G's classes right (the pseudo-labelled real pairs of Triple-GAN-V2 and S3GAN).
- `conditional_mode_seeking_weight` adds MSGAN's mode-seeking term (Mao et al., 2019) to G's loss, on
  pairs drawn within G's one batch: off by default, as it traded conditional accuracy for spread on
  validation (docs/RESULTS.md).
- C learns from G's samples with the labels G drew them for (Triple-GAN's R_p, weight 1), ramped in
  over `warmup_steps` after the first `warmup_steps`, once G follows its labels.
Learned from taufikxu/Triple-GAN (D's real pairs, the hinge loss, C's R_p) and openai/improved-gan.
The classifier used for evaluation and export is an exponential moving average of C; with
`conditional_ema_decay` G's samples come from a moving average of G's weights too (as in BigGAN; Yazıcı et
al., 2019).
"""

import dataclasses

import tensorflow as tf

from ssl_gen import optim, settings
from ssl_gen.methods import parts
from ssl_gen.methods.base import named_losses
from ssl_gen.models import architectures
from ssl_gen.settings import redefault, setting


@dataclasses.dataclass
class Settings(parts.ClassifierGameSettings):
    """C's game as the consistency preset plays it, and the conditional GAN on C's labels."""

    # C's game: the consistency preset's values, which validation chose for C (docs/RESULTS.md).
    augment_shift: int = redefault(parts.AugmentationSettings, "augment_shift", 2)
    augment_rotation: float = redefault(parts.AugmentationSettings, "augment_rotation", 15.0)
    augment_scale: float = redefault(parts.AugmentationSettings, "augment_scale", 0.1)
    unlabeled_consistency_weight: float = redefault(parts.AugmentationSettings, "unlabeled_consistency_weight", 1.0)
    generator_adam_beta1: float = redefault(parts.FeatureMatchingGameSettings, "generator_adam_beta1", 0.0)
    # R_p on the conditional G's samples: validation chose weight 1 (docs/RESULTS.md).
    classifier_generated_weight: float = redefault(parts.FeatureMatchingGameSettings,
                                                   "classifier_generated_weight", 1.0)

    conditional_learning_rate: float = setting(2e-4, "Adam learning rate of the conditional G and its D(x, y).")
    conditional_adam_beta1: float = setting(0.5, "Adam beta_1 of the conditional G and its D(x, y).")
    conditional_loss: str = setting("hinge", "D's and the conditional G's loss: hinge (SNGAN's) or logistic "
                                             "(non-saturating G).")
    labeled_pair_weight: float = setting(0.0, "Weight of each labeled pair among D's real pairs (a "
                                              "pseudo-labeled pair weighs 1 where C reaches "
                                              "--confidence_threshold).")
    conditional_classification_weight: float = setting(0.0, "Weight of the averaged C's cross-entropy on the "
                                                            "conditional G's samples in G's loss (AC-GAN's "
                                                            "term; 0: off).")
    conditional_mode_seeking_weight: float = setting(0.0, "Weight of MSGAN's mode-seeking term in the "
                                                          "conditional G's loss (0: off).")
    conditional_ema_decay: float = setting(0.0, "Decay of the moving average of the conditional G's weights "
                                                "that evaluation, export and the API sample from (0: G's own).")

    def validate(self, config):
        super().validate(config)
        settings.require_positive(self, "conditional_learning_rate")
        settings.require_unit_interval(self, "conditional_adam_beta1", "conditional_ema_decay")
        settings.require_non_negative(self, "labeled_pair_weight", "conditional_mode_seeking_weight",
                                      "conditional_classification_weight")
        settings.require_choice(self, "conditional_loss", ("hinge", "logistic"))


class Joint(parts.ComposedMethod):
    Settings = Settings
    # The second unlabeled view is the complement G's feature-matching target.
    unlabeled_views = 2
    collapse_loss = "loss/classifier/unsupervised"

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        own = config.method_settings
        self.classifier = parts.AveragedClassifier(config, spec, total_steps, own.ema_decay)
        self.complement = parts.Generator(config, spec, total_steps, own.generator_adam_beta1,
                                          name="complement_generator", build_network=architectures.mlp_generator)
        self.generator = parts.Generator(config, spec, total_steps, own.conditional_adam_beta1,
                                         own.conditional_learning_rate, average_decay=own.conditional_ema_decay)
        self.discriminator = parts.PairDiscriminator(config, spec, total_steps, own.conditional_learning_rate,
                                                     own.conditional_adam_beta1)

    def _parts(self):
        return super()._parts() + [self.complement]

    def build(self):
        super().build()
        self.complement.build()

    @classmethod
    def generator_reads_tanh_scale(cls, config):
        return False  # the tanh scale is the complement G's, which nothing outside the step samples

    def train_step(self, labeled, unlabeled):
        own = self.config.method_settings
        ramp = optim.linear_ramp(self.classifier.optimizer.iterations, own.warmup_steps, own.warmup_steps)
        latents, labels = unlabeled["latent"], unlabeled["generated_label"]
        complement_images = self.complement(latents, labels, training=True)
        samples = self.generator(latents, labels, training=True)
        classifier_losses, _ = parts.classifier_update(
            self.classifier, own, labeled, unlabeled, complement_images, labels, ramp,
            labeled_samples=(samples, labels))
        target = parts.reference(self.classifier.network, unlabeled["image2"])
        complement_losses = parts.generator_update(self.complement, self.classifier.network, own,
                                                   unlabeled["latent2"], labels, target, ramp)
        hinge = own.conditional_loss == "hinge"
        discriminator_losses, _ = parts.pseudo_labeled_discriminator_update(
            self.discriminator, labeled, unlabeled["image"], tf.nn.softmax(self.classify(unlabeled["image"])),
            samples, labels, confidence_threshold=own.confidence_threshold,
            labeled_pair_weight=own.labeled_pair_weight, hinge=hinge)
        judge = None
        if own.conditional_classification_weight:  # the average: a slow target G can follow
            judge = lambda images: self.classifier.average_network(images, training=False)  # noqa: E731
        generator_losses = parts.conditional_generator_update(
            self.generator, self.discriminator, latents, labels, None, judge, adversarial_weight=1.0,
            feature_matching_weight=0.0, classification_weight=own.conditional_classification_weight,
            mode_seeking_weight=own.conditional_mode_seeking_weight, hinge=hinge, pairs_in_batch=True)
        self.classifier.average.update(self.generator.optimizer.iterations)
        self.generator.update_average()
        return {**named_losses("classifier", classifier_losses),
                **named_losses("complement_generator", complement_losses),
                **named_losses("discriminator", discriminator_losses),
                **named_losses("generator", generator_losses)}
