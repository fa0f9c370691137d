"""Test-session settings shared by tests/ and the notebooks run through nbmake."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Notebooks read these: a few-minute budget and a throwaway run directory.
os.environ.setdefault("SSL_GEN_NOTEBOOK_BUDGET", "small")
os.environ.setdefault("SSL_GEN_NOTEBOOK_RUN", os.path.join(tempfile.mkdtemp(prefix="ssl_gen_nb_"), "run"))
