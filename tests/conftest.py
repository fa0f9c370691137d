import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ssl_gen import methods, settings  # noqa: E402
from ssl_gen.training import config as config_lib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST = os.path.join(ROOT, "..", "shared", "data", "mnist.npz")
# Scripts run in subprocesses import this checkout's ssl_gen, not whichever checkout pip installed.
SUBPROCESS_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                  "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}


@pytest.fixture(scope="session")
def mnist_small_path(tmp_path_factory):
    """1,000 training and 500 test MNIST images in the keras layout."""
    with np.load(MNIST) as mnist:
        arrays = {"x_train": mnist["x_train"][:1000], "y_train": mnist["y_train"][:1000],
                  "x_test": mnist["x_test"][:500], "y_test": mnist["y_test"][:500]}
    path = tmp_path_factory.mktemp("data") / "mnist_small.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def rgb_arrays():
    """A small 3-class RGB data set of 8×8 images, to show nothing assumes MNIST."""
    rng = np.random.default_rng(0)
    return {"x_train": rng.integers(0, 256, (60, 8, 8, 3), dtype=np.uint8),
            "y_train": np.tile(np.arange(3), 20).astype(np.int64),
            "x_test": rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8),
            "y_test": np.tile(np.arange(3), 4).astype(np.int64)}


def tiny_config(output_dir, data_path, **overrides):
    # Triple-GAN with the MLPs and a decaying rate: the small, fast setting the tests were written for.
    values = dict(output_dir=str(output_dir), data_path=data_path, method="triple_gan", architecture="mlp",
                  lr_decay_start=0.5, lr_warmup_steps=0, generator_tanh_scale=1.0, num_labeled=20, batch_size=20,
                  train_steps=6, eval_every=3, checkpoint_every=3, log_every=3, warmup_steps=1,
                  classifier_units=(32, 16), discriminator_units=(32, 16), generator_units=(16,),
                  latent_dim=8, mixed_precision=False)  # float32 on every machine; bfloat16 tests ask for it
    values.update(overrides)
    if "warmup_steps" not in settings.names(methods.get_class(values["method"]).Settings):
        values.pop("warmup_steps")  # a setting of the GAN methods only
    return config_lib.build(**values)
