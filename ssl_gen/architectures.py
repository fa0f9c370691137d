"""Networks by `--architecture`: the anchors' MLPs (MNIST) or their conv nets (SVHN, CIFAR-10)."""

from ssl_gen import conv_networks, networks
from ssl_gen.errors import ConfigError

ARCHITECTURES = ("mlp", "conv")


def _check(config):
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {config.architecture!r}; choose one of {list(ARCHITECTURES)}")


def classifier(config, spec, seed=None):
    _check(config)
    if config.architecture == "conv":
        return conv_networks.ConvClassifier(spec.num_classes, config.classifier_channels,
                                            config.input_noise, config.dropout, seed=seed)
    return networks.Classifier(spec.num_classes, config.classifier_units, config.input_noise,
                               config.hidden_noise, seed=seed)


def discriminator(config, spec, seed=None):
    _check(config)
    if config.architecture == "conv":
        return conv_networks.ConvDiscriminator(spec.num_classes, config.discriminator_channels,
                                               config.input_noise, config.dropout, seed=seed)
    return networks.Discriminator(spec.num_classes, config.discriminator_units, config.input_noise,
                                  config.hidden_noise, seed=seed)


def generator(config, spec, seed=None):
    _check(config)
    if config.architecture == "conv":
        return conv_networks.ConvGenerator(spec.image_shape, spec.num_classes, config.generator_channels,
                                           config.latent_dim, seed=seed)
    return networks.Generator(spec.image_shape, spec.num_classes, config.generator_units,
                              config.latent_dim, seed=seed)
