"""ssl_gen: semi-supervised learning of a class-conditional generator P(x|y) and a classifier P(y|x)."""

__version__ = "0.1.0"

from ssl_gen.api import Model, fit, load  # noqa: E402  (the public API: ssl_gen.fit, ssl_gen.load)
