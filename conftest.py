"""Settings shared by tests/ and the notebooks run through nbmake."""

import os
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Notebooks read these: a few-minute budget and a throwaway run directory.
os.environ.setdefault("SSL_GEN_NOTEBOOK_BUDGET", "small")
_SCRATCH = tempfile.mkdtemp(prefix="ssl_gen_nb_")
if "SSL_GEN_NOTEBOOK_RUN" not in os.environ or os.environ.get("_SSL_GEN_NOTEBOOK_RUN_IS_DEFAULT"):
    # pytest-xdist workers inherit the controller's environment: each takes its own default run, so
    # two notebooks on two workers never train into one directory at once.
    os.environ["SSL_GEN_NOTEBOOK_RUN"] = os.path.join(_SCRATCH, "run")
    os.environ["_SSL_GEN_NOTEBOOK_RUN_IS_DEFAULT"] = "1"

_MNIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared", "data", "mnist.npz")


def _small_mnist(path, train=6000, test=1000):
    """A slice of MNIST for the notebooks: on the full set, 02_evaluation (evaluator training, FID over
    the test set) passed its 300 s cell limit in CI when the CPU was shared."""
    with np.load(_MNIST) as mnist:
        np.savez(path, x_train=mnist["x_train"][:train], y_train=mnist["y_train"][:train],
                 x_test=mnist["x_test"][:test], y_test=mnist["y_test"][:test])
    return path


if os.environ["SSL_GEN_NOTEBOOK_BUDGET"] == "small" and "SSL_GEN_DATA_PATH" not in os.environ \
        and os.path.exists(_MNIST):
    os.environ["SSL_GEN_DATA_PATH"] = _small_mnist(os.path.join(_SCRATCH, "mnist_small.npz"))
