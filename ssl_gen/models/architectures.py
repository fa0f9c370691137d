"""Networks by `--architecture`: the anchors' MLPs (MNIST), their conv nets (SVHN, CIFAR-10), or the
MLP C with a class-conditional conv G and a spectral-norm projection D (conditional_conv).

Each builder takes a `NetworkSettings` (a run's `config.networks`)."""

import dataclasses

from ssl_gen import settings
from ssl_gen.models import conditional_conv, conv_networks, layers, networks
from ssl_gen.settings import setting

ARCHITECTURES = ("mlp", "conv", "conditional_conv")


@dataclasses.dataclass
class NetworkSettings:
    """The shapes and regularisers of C, D and G, whichever method trains them."""

    architecture: str = setting("conditional_conv", "Networks: conditional_conv (MLP C, G with class-conditional "
                                                    "batch norm, spectral-norm projection D), mlp (the anchors' "
                                                    "MNIST MLPs) or conv (their SVHN / CIFAR-10 conv nets).")
    latent_dim: int = setting(100, "Dimension of the generator's latent z.")
    generator_units: tuple = setting((500, 500), "mlp: hidden widths of the generator.")
    classifier_units: tuple = setting((1000, 500, 250, 250, 250), "mlp: hidden widths of the classifier.")
    discriminator_units: tuple = setting((1000, 500, 250, 250, 250), "mlp: hidden widths of the pair "
                                                                     "discriminator.")
    classifier_channels: tuple = setting((96, 192), "conv: channels of C's two stages (improved-gan: 96,192).")
    discriminator_channels: tuple = setting((32, 64), "conv, conditional_conv: channels of D's stages.")
    # 64,32,16: a 25.7-GFLOP step at batch 100 with D's 32,64, inside 3 hours for 30,000 steps on 2 cores.
    generator_channels: tuple = setting((64, 32, 16), "conv, conditional_conv: channels of G's dense block and "
                                                      "its conv stages (improved-gan's conv G: 512,256,128).")
    # mlp: tanh(scale·a); the anchors' sigmoid on [0, 1] data is tanh(a/2) on [-1, 1].
    generator_tanh_scale: float = setting(0.5, "mlp: G's output is tanh(scale · a); 0.5 is the anchors' "
                                               "sigmoid on [0, 1] data mapped to [-1, 1].")
    generator_output_init: str = setting("normal", "mlp: init of the direction of G's weight-normed output "
                                                   "layer: normal (N(0, 0.1)) or glorot (the anchors').")
    # Improved-GAN's 0.3 on [0, 1] pixels, doubled for [-1, 1].
    input_noise: float = setting(0.6, "Std of the Gaussian noise on C's and D's inputs (images in [-1, 1]).")
    hidden_noise: float = setting(0.5, "mlp: std of the Gaussian noise on C's and D's hidden layers.")
    dropout: float = setting(0.5, "conv: dropout rate after each stride-2 stage of C and D.")

    def __post_init__(self):
        settings.as_tuples(self, "generator_units", "classifier_units", "discriminator_units",
                           "classifier_channels", "discriminator_channels", "generator_channels")

    def validate(self, config):
        settings.require_choice(self, "architecture", ARCHITECTURES)
        settings.require_choice(self, "generator_output_init", layers.DIRECTION_INITS)
        settings.require_positive(self, "latent_dim")
        settings.require_non_negative(self, "input_noise", "hidden_noise")
        settings.require_unit_interval(self, "dropout")


def _is_conv(nets):
    settings.require_choice(nets, "architecture", ARCHITECTURES)
    return nets.architecture == "conv"


def _is_conditional_conv(nets):
    return nets.architecture == "conditional_conv"


def _regularisers(nets):
    """C's and D's noise: Gaussian input noise plus hidden noise (MLP) or dropout (conv)."""
    if _is_conv(nets):
        return dict(input_noise=nets.input_noise, dropout=nets.dropout)
    return dict(input_noise=nets.input_noise, hidden_noise=nets.hidden_noise)


def classifier(nets, spec, seed=None):
    if _is_conv(nets):
        return conv_networks.ConvClassifier(spec.num_classes, nets.classifier_channels, seed=seed,
                                            **_regularisers(nets))
    return networks.Classifier(spec.num_classes, nets.classifier_units, seed=seed, **_regularisers(nets))


def discriminator(nets, spec, seed=None):
    if _is_conditional_conv(nets):
        return conditional_conv.ProjectionDiscriminator(spec.num_classes, nets.discriminator_channels, seed=seed)
    if _is_conv(nets):
        return conv_networks.ConvDiscriminator(spec.num_classes, nets.discriminator_channels, seed=seed,
                                               **_regularisers(nets))
    return networks.Discriminator(spec.num_classes, nets.discriminator_units, seed=seed,
                                  **_regularisers(nets))


def generator(nets, spec, seed=None):
    if _is_conditional_conv(nets):
        return conditional_conv.ConditionalConvGenerator(spec.image_shape, spec.num_classes,
                                                         nets.generator_channels, nets.latent_dim, seed=seed)
    if _is_conv(nets):
        return conv_networks.ConvGenerator(spec.image_shape, spec.num_classes, nets.generator_channels,
                                           nets.latent_dim, seed=seed)
    return networks.Generator(spec.image_shape, spec.num_classes, nets.generator_units, nets.latent_dim,
                              seed=seed, tanh_scale=nets.generator_tanh_scale,
                              output_init=nets.generator_output_init)


def mlp_generator(nets, spec, seed=None):
    """The MLP G whatever --architecture says: the joint method's complement G for C's game."""
    return networks.Generator(spec.image_shape, spec.num_classes, nets.generator_units, nets.latent_dim,
                              seed=seed, tanh_scale=nets.generator_tanh_scale,
                              output_init=nets.generator_output_init)
