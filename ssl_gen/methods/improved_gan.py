"""Improved-GAN (Salimans et al., 2016), feature-matching variant, learned from openai/improved-gan
(`train_mnist_feature_matching.py`).

The classifier C is the discriminator: its K logits l(x) give P(y|x), and D(x) = σ(logsumexp l(x)) tells
unlabeled images from G's. G learns by feature matching on C's last hidden layer. The anchors' G is
unconditional; here G(z, y) takes a label, and `--generator_classification_weight` (ramped in after
`--warmup_steps`) adds C's cross-entropy on G's samples so that G follows its label. With that weight at 0
G ignores y and `generate` samples must be labelled by `classify`.
The classifier used for evaluation and export is an exponential moving average of C.
"""

import dataclasses

from ssl_gen import optim
from ssl_gen.methods import parts
from ssl_gen.methods.base import named_losses


@dataclasses.dataclass
class Settings(parts.ClassifierGameSettings):
    """Improved-GAN's settings: its feature-matching game and C's augmentation."""


class ImprovedGan(parts.ComposedMethod):
    Settings = Settings
    # The second unlabeled view is G's feature-matching target, as improved-gan's `trainx_unl2`.
    unlabeled_views = 2
    collapse_loss = "loss/classifier/unsupervised"

    def __init__(self, config, spec, total_steps):
        super().__init__(config, spec, total_steps)
        settings = config.method_settings
        self.classifier = parts.AveragedClassifier(config, spec, total_steps, settings.ema_decay)
        self.generator = parts.Generator(config, spec, total_steps, settings.generator_adam_beta1)

    def train_step(self, labeled, unlabeled):
        settings = self.config.method_settings
        ramp = optim.linear_ramp(self.classifier.optimizer.iterations, settings.warmup_steps,
                                 settings.warmup_steps)
        # G's inputs come with the batch (data.generator_inputs): class-balanced labels, and the same
        # draws however the global batch is split over replicas.
        latents, labels = unlabeled["latent"], unlabeled["generated_label"]
        # G's forward pass is cheap next to C's: it is run again under G's own tape.
        generated = self.generator(latents, labels, training=True)
        independent = settings.independent_generator_step
        if not independent:
            target = parts.reference(self.classifier.network, unlabeled["image2"])
        classifier_losses, _ = parts.classifier_update(self.classifier, settings, labeled, unlabeled, generated,
                                                       labels, ramp)
        if independent:  # as improved-gan's separate D and G functions: G sees C after its update
            target = parts.reference(self.classifier.network, unlabeled["image2"])
        generator_losses = parts.generator_update(self.generator, self.classifier.network, settings,
                                                  unlabeled["latent2"] if independent else latents, labels,
                                                  target, ramp)
        self.classifier.average.update(self.generator.optimizer.iterations)
        return {**named_losses("classifier", classifier_losses), **named_losses("generator", generator_losses)}
