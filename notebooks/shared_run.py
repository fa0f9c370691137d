"""The small MNIST-100 run the notebooks share: trained by the first notebook run, resumed or reused after.

CI sets SSL_GEN_NOTEBOOK_BUDGET=small (a few steps, small networks) and points SSL_GEN_DATA_PATH and
SSL_GEN_NOTEBOOK_RUN at scratch files.
"""

import os

import ssl_gen

SMALL = os.environ.get("SSL_GEN_NOTEBOOK_BUDGET", "full") == "small"
DATA_PATH = os.environ.get("SSL_GEN_DATA_PATH", "../../shared/data/mnist.npz")
RUN_DIR = os.environ.get("SSL_GEN_NOTEBOOK_RUN", "../runs/notebook_mnist100")
BUDGET = (dict(train_steps=40, eval_every=20, checkpoint_every=20, log_every=10, warmup_steps=20, ema_decay=0.9,
               lr_warmup_steps=0, classifier_units=(100, 50), generator_units=(100,),
               generator_channels=(16, 8, 4), discriminator_channels=(8, 16))
          if SMALL else dict(train_steps=6000, eval_every=1000))


def data_source():
    """The npz file if there is one, else MNIST through tensorflow-datasets."""
    return dict(data_path=DATA_PATH) if os.path.exists(DATA_PATH) else dict(dataset="mnist")


def fit():
    """Trains the run (or resumes it, or does nothing if it is finished) and returns the model."""
    return ssl_gen.fit(RUN_DIR, num_labeled=100, seed=1, **data_source(), **BUDGET)
