"""Where ssl_gen keeps what it builds once per machine (evaluators, compiled kernels)."""

import os


def cache_dir(*parts):
    root = os.environ.get("SSL_GEN_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "ssl_gen"))
    return os.path.join(root, *parts)
