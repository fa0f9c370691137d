"""Trains the same tiny run under the default strategy and under MirroredStrategy on two logical CPUs.

Run as a subprocess (logical devices must be set before TensorFlow starts):
python tests/helpers/mirrored_vs_default.py DATA.npz OUT_DIR → OUT_DIR/{default,mirrored}/ runs,
and prints the mirrored strategy's replica count.
"""

import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from ssl_gen.training import distribute, train  # noqa: E402
from tests.conftest import tiny_config  # noqa: E402


def main(data_path, out_dir):
    print("replicas", distribute.make_strategy("mirrored").num_replicas_in_sync)
    for strategy in ("default", "mirrored"):
        # No Gaussian noise (each replica draws its own); every coupling term on, so every path runs.
        config = tiny_config(os.path.join(out_dir, strategy), data_path, strategy=strategy,
                             input_noise=0.0, hidden_noise=0.0, train_steps=4, log_every=1,
                             eval_every=1, checkpoint_every=4, warmup_steps=0,
                             generator_adversarial_weight=1.0, classifier_adversarial_weight=0.1,
                             classifier_generated_weight=0.1, generator_classification_weight=0.1,
                             class_balance_weight=0.1)
        train.run(config)


if __name__ == "__main__":
    main(*sys.argv[1:3])
