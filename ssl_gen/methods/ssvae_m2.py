"""M2, the semi-supervised VAE of Kingma, Rezende, Mohamed & Welling (2014), learned from
dpkingma/nips14-ssl (`learn_yz_x_ss.py`, `GPUVAE_YZ_X.py`).

Generative model p(x|y,z) p(y) p(z) (Bernoulli pixels, uniform y, z ~ N(0, I)); inference model
q(z|x,y) q(y|x). Labeled images maximise the bound L(x, y); unlabeled ones the bound with y
marginalised under q(y|x) (every class is enumerated), and q(y|x) also learns from the labeled
cross-entropy with weight α. Kingma et al. set α = 0.1·N on a sum over the data set; on the batch
means used here that puts `m2_alpha`·num_labeled on the labeled cross-entropy (10 at MNIST-100).
`generate` is the decoder's mean image; `classify` is q(y|x). The paper's MNIST-100 figures: M2 alone
11.97 ± 1.71 %, M1+M2 3.33 ± 0.14 %.
"""

import dataclasses

import keras
import tensorflow as tf

from ssl_gen import losses, optim, seeds, settings
from ssl_gen.models import networks
from ssl_gen.errors import ConfigError
from ssl_gen.methods.base import Method, apply_gradients, named_losses, step_seeds
from ssl_gen.settings import setting


@dataclasses.dataclass
class Settings:
    """M2's encoder and the weight of q(y|x)'s labeled cross-entropy; the decoder takes
    --generator_units, q(y|x) --classifier_units."""

    encoder_units: tuple = setting((500,), "Hidden widths of the encoder q(z|x,y).")
    m2_alpha: float = setting(0.1, "q(y|x)'s labeled cross-entropy weighs m2_alpha * num_labeled (Kingma et "
                                   "al.'s alpha = 0.1 N, on batch means).")

    def __post_init__(self):
        settings.as_tuples(self, "encoder_units")

    def validate(self, config):
        settings.require_non_negative(self, "m2_alpha")
        _require_mlp(config)


def _require_mlp(config):
    if config.networks.architecture != "mlp":
        raise ConfigError(f"ssvae_m2 has MLP networks only; received --architecture={config.networks.architecture}")


class SsVae(keras.Model):
    """The three networks of M2, updated together by one optimizer from one objective."""

    def __init__(self, config, spec, **kwargs):
        super().__init__(**kwargs)
        shapes = config.networks
        self.classifier = networks.PlainClassifier(spec.num_classes, shapes.classifier_units,
                                                   seed=seeds.derive(config.seed, "classifier"))
        self.encoder = networks.GaussianEncoder(spec.num_classes, config.method_settings.encoder_units,
                                                shapes.latent_dim, seed=seeds.derive(config.seed, "encoder"))
        self.decoder = networks.BernoulliDecoder(spec.image_shape, spec.num_classes, shapes.generator_units,
                                                 seed=seeds.derive(config.seed, "decoder"))


class SsVaeM2(Method):
    Settings = Settings
    latent_center = 0.0  # z ~ N(0, I)

    def __init__(self, config, spec, total_steps):
        _require_mlp(config)  # also when built without Config.validate
        super().__init__(config, spec, total_steps)
        self.model = SsVae(config, spec)
        self.optimizer = optim.adam(config, total_steps)
        self.classification_weight = config.method_settings.m2_alpha * config.num_labeled

    # --- construction -------------------------------------------------------------------------------
    def build(self):
        images, labels = tf.zeros((2,) + tuple(self.spec.image_shape)), tf.zeros((2,), tf.int32)
        self.model.classifier(images)
        self.model.encoder(images, labels)
        self.model.decoder(self.sample_latents(2, 0), labels)
        self.optimizer.build(self.model.trainable_variables)

    def initialize(self, unlabeled_images):
        """Nothing data-dependent: Glorot initial weights, as the paper's code."""

    def checkpoint_items(self):
        return {"model": self.model, "optimizer": self.optimizer}

    # --- inference ----------------------------------------------------------------------------------
    def classify(self, images):
        return tf.cast(self.model.classifier(images), tf.float32)

    def generate(self, labels, latents):
        return 2.0 * tf.sigmoid(tf.cast(self.model.decoder(latents, labels), tf.float32)) - 1.0

    def sample_latents(self, count, seed):
        return tf.random.stateless_normal([count, self.config.networks.latent_dim], seed=[seed, 0])

    # --- training -----------------------------------------------------------------------------------
    def _negative_bound(self, images, labels, seed):
        """−L(x, y) per example: reconstruction NLL + KL(q(z|x,y) ‖ p(z)) − log p(y), one z sample."""
        mean, log_variance = self.model.encoder(images, labels)
        noise = tf.random.stateless_normal(tf.shape(mean), seed=seed)
        latents = mean + tf.exp(0.5 * log_variance) * noise
        reconstruction = losses.bernoulli_negative_log_likelihood(self.model.decoder(latents, labels), images)
        log_prior_y = -tf.math.log(float(self.spec.num_classes))
        return reconstruction + losses.gaussian_kl_to_standard_normal(mean, log_variance) - log_prior_y

    def train_step(self, labeled, unlabeled):
        num_classes = self.spec.num_classes
        labeled_seed, unlabeled_seed = step_seeds(self.optimizer.iterations, 2)
        batch = tf.shape(unlabeled["image"])[0]
        # Every class for every unlabeled image: [x_1..x_B] × K, labels [0..0, 1..1, …].
        tiled_images = tf.tile(unlabeled["image"], [num_classes, 1, 1, 1])
        tiled_labels = tf.repeat(tf.range(num_classes, dtype=tf.int32), batch)
        with tf.GradientTape() as tape:
            labeled_bound = self._negative_bound(labeled["image"], labeled["label"], labeled_seed)
            unlabeled_bounds = self._negative_bound(tiled_images, tiled_labels, unlabeled_seed)
            unlabeled_bounds = tf.transpose(tf.reshape(unlabeled_bounds, [num_classes, batch]))
            logits = self.model.classifier(tf.concat([labeled["image"], unlabeled["image"]], 0))
            labeled_logits, unlabeled_logits = tf.split(logits, [tf.shape(labeled["image"])[0], batch])
            parts = losses.m2_loss(labeled_bound, unlabeled_bounds, unlabeled_logits, labeled_logits,
                                   labeled["label"], classification_weight=self.classification_weight)
        apply_gradients(tape, parts["total"], self.model, self.optimizer)
        return named_losses("model", parts)
