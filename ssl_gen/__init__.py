"""ssl_gen: semi-supervised learning of a class-conditional generator P(x|y) and a classifier P(y|x)."""

__version__ = "0.1.0"
