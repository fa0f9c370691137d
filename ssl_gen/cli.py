"""absl flags generated from `Config`, so a script's flags and config.json never drift apart."""

import dataclasses
import functools
import sys

from absl import flags

from ssl_gen import presets
from ssl_gen.config import Config
from ssl_gen.errors import SslGenError, TrainingError

HELP = {
    "output_dir": "Run directory: config, split, checkpoints, logs, samples. Rerun to resume.",
    "dataset": "tfds data set: mnist, fashion_mnist, svhn_cropped or cifar10 (ignored with --data_path).",
    "data_path": "An .npz in the keras.datasets layout (x_train, y_train, x_test, y_test); overrides --dataset.",
    "num_labeled": "Labeled training images in total, balanced per class.",
    "seed": "Seed of the labeled split, the initial weights, the noise and the data order.",
    "method": "Semi-supervised method: triple_gan, improved_gan, ssvae_m2 or pseudo_label "
              "(ssl_gen/methods; docs/RESULTS.md compares them).",
    "preset": f"Named configuration (ssl_gen/presets.py: {', '.join(presets.PRESETS)}); flags given "
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
    "generator_mode_seeking_weight": "pseudo_label: weight of MSGAN's mode-seeking term in G's loss, "
                                     "1 / (mean |G(z, y) - G(z', y)| / mean |z - z'|), against a G that "
                                     "draws one image per class whatever its latent (0: off).",
    "class_balance_weight": "improved_gan / triple_gan: weight of KL(uniform || C's mean prediction on "
                            "the unlabeled batch), against whole classes merging into one cluster "
                            "(Triple-GAN's balance term). loss/classifier/balance is logged at any weight.",
    "classifier_entropy_weight": "improved_gan / triple_gan: weight of the entropy of C's predictions on "
                                 "the unlabeled batch (Triple-GAN's 0.3), so each cluster takes the label "
                                 "of the labeled images in it. loss/classifier/entropy is logged at any weight.",
    "augment_shift": "improved_gan / triple_gan: C's labeled images are each shifted by up to this many "
                     "pixels (0: off). Unlabeled and generated images are not: see improved_gan.py. "
                     "At 2 it is what makes MNIST-20 work (seed 1 at 16k steps: 4.7 %, against "
                     "31.0 % unshifted; 7.7 % mean over 3 seeds at 30k); at MNIST-100 it led early, "
                     "then fell behind (docs/RESULTS.md).",
    "augment_rotation": "improved_gan / triple_gan: C's labeled images are each rotated by up to this many "
                        "degrees either way (0: off), about the centre, before --augment_shift. With "
                        "--augment_scale=0.1 and a shift of 2, 15 gave MNIST-20 6.52 ± 1.30 % over 3 seeds "
                        "(shift alone: 7.70 ± 4.53 %; docs/RESULTS.md).",
    "augment_scale": "improved_gan / triple_gan: C's labeled images are each scaled by a factor in "
                     "[1 - this, 1 + this] (0: off), about the centre, before --augment_shift.",
    "augment_elastic": "improved_gan / triple_gan: alpha (px) of an elastic distortion (Simard et al. 2003: "
                       "a random displacement field smoothed by a 4 px Gaussian) of C's augmented images, "
                       "before --augment_rotation / --augment_scale. 0: off; Simard's MNIST value is 34. At 34 "
                       "with --preset=mnist100_foot, seed 4 at 20k steps: 1.68 %, 1.15 % without; its curled 9s no longer "
                       "go to 3, but 55 test 4s go to 9 (docs/RESULTS.md).",
    "augment_stroke": "improved_gan / triple_gan: probability that each of C's augmented images (labeled, "
                      "and --unlabeled_consistency_weight's copy) gets one stray pen stroke, 6-14 px at a "
                      "random angle, after the --augment_* transforms. 0: off. At 0.5 it made MNIST-20 and -100 "
                      "worse (the 1s absorbed 4s, 7s and 9s: a 1 with a bar is a 7; docs/RESULTS.md).",
    "augment_crossbar": "improved_gan / triple_gan: probability that each of C's augmented images (labeled, "
                        "and the consistency copy) gets a 6-10 px bar within 20 degrees of horizontal "
                        "through the middle of its ink (35-65 % of its height), as a crossed 7's; after "
                        "--augment_stroke. 0: off. At 0.5 it kept MNIST-100 seeds 3 and 5's crossed 7s from 2 "
                        "(0.87 % at 70k on both; 2.01 % without on seed 5); on seed 1 it sent 8s to 0 (2.16 % "
                        "at 15.9k), at 20 labels 9s to 7 (docs/RESULTS.md).",
    "augment_crossbar_stem_only": "With --augment_crossbar: draw the bar only where its row of ink is one "
                                  "run (a stem), never across both sides of a 0's or an 8's loop. At 0.5: MNIST-100 "
                                  "seed 1 1.18 % at 16k (no 8s called 0), seed 5 0.93 % at 70k (docs/RESULTS.md).",
    "augment_crossbar_stem_width": "With --augment_crossbar_stem_only: the widest run of ink (px) still taken "
                                   "for a stem, so no bar lies along a 9's loop base or a 3's cusp; 0: any. "
                                   "At 5 (--preset=mnist20_stem): MNIST-20 1.14 ± 0.06 % over 3 seeds (2.23 % "
                                   "without the bar), MNIST-100 0.80 / 0.80 / 0.78 % on seeds 1–3 (docs/RESULTS.md).",
    "augment_foot": "improved_gan / triple_gan: probability that each labeled image of a class in "
                    "--augment_foot_classes gets a 6-12 px foot across the bottom end of its stem (where one "
                    "run of at most 5 px ends the ink), in C's labeled view only. 0: off. Aimed at MNIST's "
                    "footed 1s, which C calls 2 when no labeled 1 has a foot. At 0.5 on 1s (--preset="
                    "mnist100_foot): MNIST-100 0.68 / 0.76 / 0.70 / 0.93 % on seeds 1-4 (docs/RESULTS.md).",
    "augment_foot_unlabeled": "improved_gan / triple_gan: probability of the same foot on the consistency "
                              "copy (--unlabeled_consistency_weight) of each unlabeled image that the averaged "
                              "C calls one of --augment_foot_classes with --confidence_threshold. 0: off. At "
                              "0.5 with the foot on 1s and 9s (--preset=mnist100_feet): MNIST-100 "
                              "0.60 / 0.69 / 0.67 / 0.67 / 0.63 % on seeds 1-5 (0.65 ± 0.03 %).",
    "augment_foot_classes": "With --augment_foot (labeled images) or --augment_foot_unlabeled (C's confident "
                            "calls): the classes whose images may get a foot, e.g. 1 "
                            "(not 7: a 7 with a foot can read as a Z-shaped 2).",
    "encoder_units": "ssvae_m2: hidden widths of the encoder q(z|x,y) (the decoder uses --generator_units).",
    "unlabeled_consistency_weight": "improved_gan / triple_gan: weight of KL(C(x_u) || C(T(x_u))), T the "
                                    "labeled images' augmentation (--augment_*; with none, only C's noise "
                                    "differs), so the unlabeled clusters, not only the labeled images, "
                                    "learn its invariances, on the images where C's prediction reaches "
                                    "--confidence_threshold. 0: off, and the copy is not run. At 1 (τ 0.95) "
                                    "with the session-11 augmentation, MNIST-20 went from 6.52 ± 1.30 % "
                                    "to 2.23 ± 0.02 % over 3 seeds; at MNIST-100, seed 2 reached 0.74 % in 70k "
                                    "steps (--preset=mnist100_consist; docs/RESULTS.md).",
    "consistency_cutout": "improved_gan / triple_gan: side in pixels of one square set to background in "
                          "each image of --unlabeled_consistency_weight's copy (after its --augment_* "
                          "transforms; FixMatch's cutout). 0: off. At 10 it did not help MNIST-20 "
                          "(seed 3, docs/RESULTS.md).",
    "m2_alpha": "ssvae_m2: weight of q(y|x)'s labeled cross-entropy is m2_alpha * num_labeled "
                "(Kingma et al.'s alpha = 0.1 N, on batch means).",
    "confidence_threshold": "pseudo_label: a pseudo-label is used only when C's probability reaches this; "
                            "improved_gan / triple_gan: likewise for --unlabeled_consistency_weight's "
                            "targets (0: every image; on MNIST-20 that merged classes).",
    "consistency_weight": "pseudo_label: weight of the pseudo-label loss on strongly augmented images.",
    "gan_learning_rate": "pseudo_label: Adam learning rate of G and D (C uses --learning_rate). At C's "
                         "3e-3 the GAN diverged (D's loss to 0) within 4,000 steps on MNIST-100.",
    "generator_tanh_scale": "mlp: G's output is tanh(scale · a). 0.5 is the anchors' sigmoid on [0, 1] "
                            "data mapped to [-1, 1] (2σ(a) − 1 = tanh(a/2)); 1.0, the default, is what "
                            "the results in docs/RESULTS.md used unless they say otherwise.",
    "generator_output_init": "mlp: init of the direction of G's weight-normed output layer: normal "
                             "(N(0, 0.1), the default) or glorot (the anchors' Glorot-uniform; its "
                             "smaller weights make Adam turn the layer about 2.5x faster).",
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
    "generator_adam_beta1": "improved_gan / triple_gan / pseudo_label: Adam beta_1 of G alone (Bad GAN's "
                            "MNIST G: 0; improved-gan's: 0.5, as C's). At 0 with --preset=mnist100_consist, "
                            "seed 3 no longer collapsed and seed 2 reached 0.99 % in 22k steps, against "
                            "1.23 % (--preset=mnist100_consist_g0; docs/RESULTS.md).",
    "adam_epsilon": "Adam epsilon.",
    "lr_decay_start": "Fraction of training after which the learning rate decays linearly to 0.",
    "lr_warmup_steps": "Steps over which every network's learning rate rises linearly from 1/N of its value "
                       "to all of it (0: none). 1000 kept seed 5 of --preset=mnist100_foot from collapsing in its "
                       "first steps (docs/RESULTS.md).",
    "ema_decay": "Decay of the moving average of C's weights used for evaluation and export.",
    "eval_every": "Evaluate (test error, sample grid, metrics.csv row) every this many steps.",
    "checkpoint_every": "Save a checkpoint every this many steps.",
    "log_every": "Log losses and steps/s every this many steps.",
    "keep_checkpoints": "Checkpoints kept on disk.",
    "collapse_threshold": "Stop training when C's real/fake loss (averaged over --log_every steps) falls "
                          "below this: the GAN game has collapsed (measured ~2e-4 then, >= 0.26 in healthy "
                          "MNIST runs). 0: never stop.",
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
