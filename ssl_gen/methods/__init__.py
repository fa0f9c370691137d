"""Methods by name. Each is one module implementing `ssl_gen.methods.base.Method`."""

from ssl_gen.errors import ConfigError
from ssl_gen.methods.base import Method
from ssl_gen.methods.improved_gan import ImprovedGan
from ssl_gen.methods.joint import Joint
from ssl_gen.methods.pseudo_label import PseudoLabel
from ssl_gen.methods.ssvae_m2 import SsVaeM2
from ssl_gen.methods.triple_gan import TripleGan

METHODS = {"triple_gan": TripleGan, "improved_gan": ImprovedGan, "ssvae_m2": SsVaeM2,
           "pseudo_label": PseudoLabel, "joint": Joint}


def get_class(name):
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of {sorted(METHODS)}")
    return METHODS[name]


def create(config, spec, total_steps):
    return get_class(config.method)(config, spec, total_steps)
