"""Methods by name. Each is one module implementing `ssl_gen.methods.base.Method`."""

from ssl_gen.errors import ConfigError
from ssl_gen.methods.base import Method
from ssl_gen.methods.improved_gan import ImprovedGan
from ssl_gen.methods.pseudo_label import PseudoLabel
from ssl_gen.methods.ssvae_m2 import SsVaeM2
from ssl_gen.methods.triple_gan import TripleGan

METHODS = {"triple_gan": TripleGan, "improved_gan": ImprovedGan, "ssvae_m2": SsVaeM2,
           "pseudo_label": PseudoLabel}


def create(config, spec, total_steps):
    if config.method not in METHODS:
        raise ConfigError(f"unknown method {config.method!r}; choose one of {sorted(METHODS)}")
    return METHODS[config.method](config, spec, total_steps)
