"""absl flags generated from `Config`, so a script's flags and config.json never drift apart."""

import dataclasses
import functools
import sys

from absl import flags

from ssl_gen.training import presets
from ssl_gen.training.config import Config
from ssl_gen.errors import SslGenError, TrainingError

HELP = {
    "output_dir": "Run directory: config, split, checkpoints, logs, samples. Rerun to resume.",
    "dataset": "tfds data set: mnist, fashion_mnist, svhn_cropped or cifar10 (ignored with --data_path).",
    "data_path": "An .npz in the keras.datasets layout (x_train, y_train, x_test, y_test); overrides --dataset.",
    "num_labeled": "Labeled training images in total, balanced per class.",
    "seed": "Seed of the labeled and validation splits, the initial weights, the noise and the data order.",
    "validation_size": "Training images held out to choose settings, never trained on: -1 is 10 % of them "
                       "(at most 5,000), 0 none. Saved as validation_indices.npy.",
    "method": "Semi-supervised method: triple_gan, improved_gan, ssvae_m2 or pseudo_label (ssl_gen/methods).",
    "preset": f"Named configuration (ssl_gen/training/presets.py: {', '.join(presets.PRESETS)}); flags given "
              "explicitly override its values.",
    "architecture": "Networks: mlp (the anchors' MNIST MLPs) or conv (their SVHN / CIFAR-10 conv nets).",
    "classifier_channels": "conv: channels of C's two stages (improved-gan: 96,192).",
    "discriminator_channels": "conv: channels of D's stages.",
    "generator_channels": "conv: channels of G's dense block and transposed convs (improved-gan: 512,256,128).",
    "dropout": "conv: dropout rate after each stride-2 stage of C and D.",
    "latent_dim": "Dimension of the generator's U(0, 1) latent z.",
    "generator_units": "Hidden widths of the generator MLP.",
    "classifier_units": "Hidden widths of the classifier MLP.",
    "discriminator_units": "Hidden widths of the pair discriminator MLP.",
    "input_noise": "Std of the Gaussian noise on C's and D's inputs (images in [-1, 1]).",
    "hidden_noise": "Std of the Gaussian noise on C's and D's hidden layers.",
    "unsupervised_weight": "Weight of Improved-GAN's real/fake term in C's loss.",
    "classifier_adversarial_weight": "Weight of C's loss through D (after warm-up).",
    "classifier_generated_weight": "Weight of C's cross-entropy on G's samples, R_p (after warm-up).",
    "generator_adversarial_weight": "Weight of G's loss through D(x, y) (after warm-up).",
    "generator_feature_matching_weight": "Weight of G's feature matching on C's last hidden layer.",
    "generator_classification_weight": "Weight of C's cross-entropy on G's samples in G's loss "
                                       "(after warm-up).",
    "generator_mode_seeking_weight": "pseudo_label: weight of MSGAN's mode-seeking term in G's loss, against a G that "
                                     "draws one image per class whatever its latent (0: off).",
    "class_balance_weight": "improved_gan / triple_gan: weight of KL(uniform || C's mean prediction on the unlabeled "
                            "batch), Triple-GAN's balance term.",
    "classifier_entropy_weight": "improved_gan / triple_gan: weight of the entropy of C's predictions on the unlabeled "
                                 "batch (Triple-GAN's 0.3).",
    "augment_shift": "improved_gan / triple_gan: shift C's labeled images (and the consistency copy) by up to this many "
                     "pixels (0: off). Unlabeled and generated images are not shifted.",
    "augment_rotation": "improved_gan / triple_gan: rotate C's labeled images by up to this many degrees either way "
                        "(0: off), about the centre, before --augment_shift.",
    "augment_scale": "improved_gan / triple_gan: scale C's labeled images by a factor in [1 - this, 1 + this] "
                     "(0: off), about the centre, before --augment_shift.",
    "augment_elastic": "improved_gan / triple_gan: alpha (px) of an elastic distortion (Simard et al. 2003) of C's "
                       "augmented images, before --augment_rotation / --augment_scale (0: off).",
    "encoder_units": "ssvae_m2: hidden widths of the encoder q(z|x,y) (the decoder uses --generator_units).",
    "unlabeled_consistency_weight": "improved_gan / triple_gan: weight of KL(C(x_u) || C(T(x_u))), T the labeled "
                                    "images' --augment_* transforms, on the images where C reaches "
                                    "--confidence_threshold (0: off).",
    "consistency_cutout": "improved_gan / triple_gan: side in pixels of one square erased from each image of "
                          "--unlabeled_consistency_weight's copy (FixMatch's cutout; 0: off).",
    "m2_alpha": "ssvae_m2: weight of q(y|x)'s labeled cross-entropy is m2_alpha * num_labeled "
                "(Kingma et al.'s alpha = 0.1 N, on batch means).",
    "confidence_threshold": "pseudo_label: a pseudo-label is used only when C's probability reaches this; "
                            "improved_gan / triple_gan: likewise for --unlabeled_consistency_weight's targets.",
    "consistency_weight": "pseudo_label: weight of the pseudo-label loss on strongly augmented images.",
    "gan_learning_rate": "pseudo_label: Adam learning rate of G and D (C uses --learning_rate).",
    "generator_tanh_scale": "mlp: G's output is tanh(scale · a); 0.5 is the anchors' sigmoid on [0, 1] data mapped to "
                            "[-1, 1] (2σ(a) − 1 = tanh(a/2)).",
    "generator_output_init": "mlp: init of the direction of G's weight-normed output layer: normal (N(0, 0.1)) or "
                             "glorot (the anchors' Glorot-uniform).",
    "classifier_from": "pseudo_label: a finished run (same data, labeled split and C) whose averaged C is "
                       "loaded and kept fixed; only G and D train, on its pseudo-labels.",
    "warmup_steps": "The label-coupling terms (C and G through D, R_p, G through C) start at this step "
                    "and ramp to full weight over as many steps.",
    "independent_generator_step": "improved_gan / triple_gan: G's update draws its own z and matches the "
                                  "features C (after its update) gives a second real batch, as "
                                  "improved-gan does; off, it reuses C's z and the features from before "
                                  "C's update.",
    "train_steps": "Training steps (one C, one D and one G update each).",
    "epochs": "If > 0, train this many passes over the unlabeled set instead of --train_steps.",
    "batch_size": "Unlabeled (and generated) images per step; labeled batch is min(this, num_labeled).",
    "learning_rate": "Adam learning rate of every network.",
    "adam_beta1": "Adam beta_1.",
    "generator_adam_beta1": "improved_gan / triple_gan / pseudo_label: Adam beta_1 of G alone (Bad GAN's MNIST G: 0).",
    "adam_epsilon": "Adam epsilon.",
    "lr_decay_start": "Fraction of training after which the learning rate decays linearly to 0.",
    "lr_warmup_steps": "Steps over which every network's learning rate rises linearly to its full value (0: none).",
    "ema_decay": "Decay of the moving average of C's weights used for evaluation and export.",
    "eval_every": "Evaluate (validation error, sample grid, metrics.csv row) every this many steps.",
    "checkpoint_every": "Save a checkpoint every this many steps.",
    "log_every": "Log losses and steps/s every this many steps.",
    "keep_checkpoints": "Checkpoints kept on disk.",
    "collapse_threshold": "Stop training when C's real/fake loss (averaged over --log_every steps) falls below this: "
                          "the GAN game has collapsed. 0: never stop.",
    "collapse_check_after": "Step from which --collapse_threshold is checked.",
    "evaluator_dir": "Evaluator for the conditional accuracy logged while training (default: the data "
                     "set's cache from experiments/train_evaluator.py, if present).",
    "strategy": "tf.distribute strategy: default (one device), mirrored (all local GPUs), multi_worker "
                "(TF_CONFIG cluster) or tpu. --batch_size is global. See docs/DISTRIBUTED.md.",
    "tpu": "TPU name or grpc:// address for --strategy=tpu (empty: from the environment).",
    "jit_compile": "XLA for the train step: auto (on for GPU, off for CPU), true or false.",
    "mixed_precision": "Compute in bfloat16 with float32 weights and logits (faster on CPUs with AVX512-BF16 or AMX).",
}


def define_config_flags(flag_values=flags.FLAGS):
    defaults = Config()
    for field in dataclasses.fields(Config):
        default = getattr(defaults, field.name)
        help_text = HELP[field.name]
        if field.name == "output_dir":
            default = None  # Required: absl enforces it only for a None default.
        if isinstance(default, bool):
            flags.DEFINE_bool(field.name, default, help_text, flag_values=flag_values)
        elif isinstance(default, int):
            flags.DEFINE_integer(field.name, default, help_text, flag_values=flag_values)
        elif isinstance(default, float):
            flags.DEFINE_float(field.name, default, help_text, flag_values=flag_values)
        elif isinstance(default, tuple):
            flags.DEFINE_list(field.name, [str(value) for value in default], help_text,
                              flag_values=flag_values)
        else:
            flags.DEFINE_string(field.name, default, help_text, flag_values=flag_values)


def config_from_flags(values):
    """Flag values; with --preset, the preset's values for every flag not given explicitly."""
    chosen = {field.name: values[field.name].value for field in dataclasses.fields(Config)}
    if chosen["preset"]:
        explicit = {name for name in chosen if values[name].present}
        chosen.update({name: value for name, value in presets.get(chosen["preset"]).items()
                       if name not in explicit})
    return Config(**chosen)


def reporting_user_errors(main):
    """Wraps an absl `main`: an error the user can act on ends the script with its message (exit 1)
    instead of a traceback that buries it."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except (SslGenError, TrainingError) as error:
            sys.exit(f"{type(error).__name__}: {error}")

    return wrapped
