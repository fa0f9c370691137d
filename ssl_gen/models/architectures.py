"""Networks by `--architecture`: the anchors' MLPs (MNIST) or their conv nets (SVHN, CIFAR-10)."""

from ssl_gen.models import conv_networks, networks
from ssl_gen.errors import ConfigError

ARCHITECTURES = ("mlp", "conv")


def _is_conv(config):
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {config.architecture!r}; choose one of {list(ARCHITECTURES)}")
    return config.architecture == "conv"


def _regularisers(config):
    """C's and D's noise: Gaussian input noise plus hidden noise (MLP) or dropout (conv)."""
    if _is_conv(config):
        return dict(input_noise=config.input_noise, dropout=config.dropout)
    return dict(input_noise=config.input_noise, hidden_noise=config.hidden_noise)


def classifier(config, spec, seed=None):
    if _is_conv(config):
        return conv_networks.ConvClassifier(spec.num_classes, config.classifier_channels, seed=seed,
                                            **_regularisers(config))
    return networks.Classifier(spec.num_classes, config.classifier_units, seed=seed, **_regularisers(config))


def discriminator(config, spec, seed=None):
    if _is_conv(config):
        return conv_networks.ConvDiscriminator(spec.num_classes, config.discriminator_channels, seed=seed,
                                               **_regularisers(config))
    return networks.Discriminator(spec.num_classes, config.discriminator_units, seed=seed,
                                  **_regularisers(config))


def generator(config, spec, seed=None):
    if _is_conv(config):
        return conv_networks.ConvGenerator(spec.image_shape, spec.num_classes, config.generator_channels,
                                           config.latent_dim, seed=seed)
    return networks.Generator(spec.image_shape, spec.num_classes, config.generator_units, config.latent_dim,
                              seed=seed, tanh_scale=config.generator_tanh_scale,
                              output_init=config.generator_output_init)
