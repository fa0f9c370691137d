"""One run's configuration: a dataclass written to DIR/config.json and checked on resume."""

import dataclasses
import json
import os

from ssl_gen import architectures, distribute, layers, presets
from ssl_gen.errors import ConfigError

CONFIG_FILE = "config.json"
# config.json holds the latest invocation's settings; a resume that changes any of them (a longer
# --train_steps, another weight-average decay) is appended here, so a run made by several commands can
# be reproduced from its directory.
CHANGES_FILE = "config_changes.jsonl"
# Where a run lives is not part of what it computes.
_NOT_SETTINGS = ("output_dir",)
# A resumed run must agree on these, or it would mix two experiments in one directory.
IDENTITY_FIELDS = ("dataset", "data_path", "method", "num_labeled", "seed")
# Settings added with a new default after runs already existed: a config.json without the key was
# written by code that behaved as this value, so resuming such a run keeps its behaviour.
_BEFORE_THE_FIELD_EXISTED = {"independent_generator_step": False}


@dataclasses.dataclass
class Config:
    output_dir: str = ""
    preset: str = ""  # A named configuration from ssl_gen/presets.py; explicit flags override it.
    # Data
    dataset: str = "mnist"
    data_path: str = ""
    num_labeled: int = 100
    seed: int = 1
    # Method and networks
    method: str = "triple_gan"
    latent_dim: int = 100
    generator_units: tuple = (500, 500)
    # mlp: G outputs tanh(scale·a). The anchors' sigmoid is 0.5; 1.0 is what every documented run used.
    generator_tanh_scale: float = 1.0
    # mlp: G's weight-normed output layer starts from N(0, 0.1) ("normal", every documented run so far)
    # or from Glorot-uniform ("glorot", the anchors' G: about 2.5x smaller weights, so Adam turns them
    # about 2.5x faster).
    generator_output_init: str = "normal"
    classifier_units: tuple = (1000, 500, 250, 250, 250)
    discriminator_units: tuple = (1000, 500, 250, 250, 250)
    architecture: str = "mlp"  # mlp (the anchors' MNIST nets) | conv (their SVHN / CIFAR-10 nets)
    classifier_channels: tuple = (96, 192)  # conv only
    discriminator_channels: tuple = (32, 64)  # conv only
    generator_channels: tuple = (512, 256, 128)  # conv only
    dropout: float = 0.5  # conv only: after each stride-2 stage of C and D
    input_noise: float = 0.6  # Improved-GAN's 0.3 on [0, 1] pixels, doubled for [-1, 1].
    hidden_noise: float = 0.5
    # Loss weights (see ssl_gen/losses.py)
    unsupervised_weight: float = 1.0
    # C's terms through D and on G's samples measured harmful on MNIST-100 (docs/RESULTS.md): off.
    classifier_adversarial_weight: float = 0.0
    classifier_generated_weight: float = 0.0
    # improved_gan / triple_gan: C's KL(uniform ‖ batch-mean prediction) on unlabeled images
    # (Triple-GAN's balance term). At 0.3 on MNIST-20 it spread C's predictions evenly but the clusters
    # kept wrong labels (docs/RESULTS.md); off by default.
    class_balance_weight: float = 0.0
    # improved_gan / triple_gan: Triple-GAN's 0.3·H(C(x_u)). At 0.3 from step 0 on MNIST-20 C
    # committed early and gave most images to one class (56.6 % error at 6,700; docs/RESULTS.md): off.
    classifier_entropy_weight: float = 0.0
    generator_adversarial_weight: float = 0.1
    generator_feature_matching_weight: float = 1.0
    generator_classification_weight: float = 0.0
    # pseudo_label: weight of MSGAN's mode-seeking term in G's loss (losses.mode_seeking), against a G
    # that ignores its latent within one class (seed 2's G drew one 5 for every latent; docs/RESULTS.md).
    generator_mode_seeking_weight: float = 0.0
    # improved_gan / triple_gan: random shift of C's labeled images, in pixels. At 2 it took MNIST-20
    # seed 1 from 31.0 % to 4.7 % at 16k steps; at MNIST-100 it led early and fell behind (docs/RESULTS.md).
    augment_shift: int = 0
    # improved_gan / triple_gan: random rotation (degrees) and scaling of C's labeled images, before the
    # shift. ±15° and ±10 % took MNIST-20 from 7.70 ± 4.53 % to 6.52 ± 1.30 % (3 seeds; docs/RESULTS.md).
    augment_rotation: float = 0.0
    augment_scale: float = 0.0
    # improved_gan / triple_gan: alpha (px) of Simard et al.'s elastic distortion of C's augmented images
    # (augment.random_elastic, sigma 4 px), before the rotation and scale; Simard used 34 on MNIST.
    # Aimed at stroke shapes no labeled image has, e.g. the 9s with a curled tail that MNIST-100
    # seeds 4 and 5 call 3. At 34 on seed 4 (with mnist100_foot): 1.68 % at 20k against 1.15 % without;
    # 9 → 3 down to 3 at 21k, but 4 → 9 55 (docs/RESULTS.md); stopped there, in no preset. 0: off.
    augment_elastic: float = 0.0
    # improved_gan / triple_gan: probability that each of C's augmented images (the labeled batch and the
    # consistency copy) gets one stray pen stroke (augment.random_stroke), so that C learns a digit's
    # class survives one; aimed at the crossed 7s that no MNIST-20 split labels. 0: off. Measured at 0.5
    # on MNIST-20 and MNIST-100 seed 3: behind at every step, the 1s absorbing 4s, 7s and 9s, since a 1
    # with a stray bar is a 7 or a 4 (docs/RESULTS.md). Kept off; left for data where strokes are noise.
    augment_stroke: float = 0.0
    # improved_gan / triple_gan: probability that each of those images gets a short, nearly
    # horizontal bar through the middle of its ink (augment.random_crossbar), the crossbar of a crossed 7,
    # which no labeled 7 of MNIST-100 seeds 3 and 5 has. At 0.5: 0.87 % at 70k on seeds 5 and 3 (seed 5:
    # 2.01 % without); but on seed 1 C calls 8s 0 (2.16 % at 15.9k against 1.22 % at 16k; likely the θ a
    # bar draws through a 0's hole), and at 20 labels (seed 3) 9s are called 7 (docs/RESULTS.md).
    # 0: off; no preset sets it.
    augment_crossbar: float = 0.0
    # With augment_crossbar: draw the bar only where its row of ink is one run (a stem), never across a
    # 0's or an 8's two sides, which closes the hole into a θ (augment.random_crossbar's stem_only).
    # At 0.5 (--preset=mnist100_stem): seed 1 1.18 % at 16k with no 8 → 0 (the preset: 1.22 %), seed 5
    # 0.93 % at 70k (crossbar without it: 0.87 %; its 9s with a curled tail go to 3; docs/RESULTS.md).
    augment_crossbar_stem_only: bool = False
    # With augment_crossbar_stem_only: the widest run (px) still taken for a stem; 0: any width. At 5,
    # MNIST-100 seed 5 at 8k: 1.49 % and 9 → 3 6 (0: 1.55 %, 13); seeds 1–3 0.80 / 0.80 / 0.78 % at 70k;
    # MNIST-20 1.14 ± 0.06 % over seeds 1–3 at 30k (no bar: 2.23 %; --preset=mnist20_stem; docs/RESULTS.md).
    augment_crossbar_stem_width: int = 0
    # improved_gan / triple_gan: probability that each labeled image of a class in augment_foot_classes
    # gets a foot, a short bar across the bottom end of its stem (augment.random_foot), in C's labeled
    # view only, where the class is known. No labeled 1 of MNIST-100 seeds 1–3 has a foot, and C calls
    # the footed 1s 2 (the same 11 test images on each seed; docs/RESULTS.md). The classes are named
    # because a foot is not class-neutral: under a 7 it can make a Z-shaped 2. 0: off.
    augment_foot: float = 0.0
    augment_foot_classes: tuple = ()
    # The same foot on the unlabeled images' consistency copy, with this probability, where the averaged
    # C calls the image one of augment_foot_classes with confidence_threshold: the labeled 1s are ten
    # writers; the unlabeled 1s C is sure of are thousands, so the foot reaches more slants and widths.
    # Aimed at MNIST-100 seed 2 of --preset=mnist100_sigmoid, whose C called 117 of the 124 footed
    # training 1s 2 with the labeled foot alone. At 0.5, with feet on 1s and 9s (--preset=mnist100_feet):
    # seeds 1-5 0.60 / 0.69 / 0.67 / 0.67 / 0.63 % at 70k, 0.65 ± 0.03 % (docs/RESULTS.md,
    # "Session 30"). 0: off.
    augment_foot_unlabeled: float = 0.0
    # improved_gan / triple_gan: KL between C's prediction on each unlabeled image and on a copy
    # transformed as the labeled images are (or, with no augment flag, seen through other noise), for the
    # images where C's prediction reaches confidence_threshold. At 1 it took MNIST-20 from 6.52 ± 1.30 %
    # to 2.23 ± 0.02 % (3 seeds), and gave MNIST-100 seed 2 0.74 % at 70k steps (docs/RESULTS.md;
    # --preset=mnist100_consist). Off by default: the default is the core issue's Triple-GAN, not re-measured.
    unlabeled_consistency_weight: float = 0.0
    # improved_gan / triple_gan: side of one square erased to background from that copy only (FixMatch's
    # strong-view cutout), so no single stroke, such as the bar of a crossed 7, decides the class. 0: off.
    # At 10 on MNIST-20 seed 3 it was behind at every evaluation to 12k and moved the 7s' errors to other
    # classes instead of fixing them (docs/RESULTS.md).
    consistency_cutout: int = 0
    encoder_units: tuple = (500,)  # ssvae_m2's q(z|x,y)
    m2_alpha: float = 0.1  # ssvae_m2: Kingma et al.'s α = 0.1·N
    # pseudo_label, and improved_gan / triple_gan's consistency term: FixMatch's τ
    confidence_threshold: float = 0.95
    consistency_weight: float = 1.0  # pseudo_label: FixMatch's λ_u
    gan_learning_rate: float = 2e-4  # pseudo_label: G's and D's Adam rate (DCGAN's)
    # pseudo_label: a finished run whose averaged C is loaded and kept fixed; only G and D train.
    classifier_from: str = ""
    # Terms coupling the players through labels start after C has learned from the labels.
    warmup_steps: int = 10000
    # improved-gan / triple_gan: G's update draws its own z and matches the features C gives a second
    # real batch after C's update, as improved-gan's separate D and G functions do. Off (G reuses C's z
    # and a feature target measured before C's update) the MNIST-100 game collapsed on seed 2 at step
    # ~6,300; on, the same seed trained on (docs/RESULTS.md).
    independent_generator_step: bool = True
    # Optimisation
    train_steps: int = 50000
    epochs: float = 0.0  # If > 0, overrides train_steps: epochs over the unlabeled set.
    batch_size: int = 100
    learning_rate: float = 3e-3
    adam_beta1: float = 0.5
    # improved_gan / triple_gan / pseudo_label: G's Adam β1. Bad GAN's MNIST G uses 0
    # (kimiyoung/ssl_bad_gan), which takes momentum out of G's steps; improved-gan uses C's 0.5. At 0 the
    # MNIST-100 consistency preset trained through seed 3's collapse and was faster on seed 2
    # (docs/RESULTS.md, (d)).
    generator_adam_beta1: float = 0.5
    adam_epsilon: float = 1e-4  # improved-gan adds 1e-8 inside the sqrt: about 1e-4 outside.
    lr_decay_start: float = 0.5  # Fraction of training after which lr decays linearly to 0.
    # Steps over which every network's rate rises linearly to its full value; 0: full from step 0. With
    # --preset=mnist100_foot, seed 5's game broke within its first 800 steps at the full rate and trained
    # through them with 1,000 (docs/RESULTS.md).
    lr_warmup_steps: int = 0
    ema_decay: float = 0.9999  # improved-gan's; 0.999 measured worse (docs/RESULTS.md).
    # Runtime
    eval_every: int = 2000
    checkpoint_every: int = 2000
    log_every: int = 200
    keep_checkpoints: int = 3
    # A collapsed GAN game (C tells G's images from real ones perfectly: its real/fake loss fell to
    # ~2e-4 in every collapsed MNIST run, and never below 0.26 after step 2,000 in a healthy one) stops
    # the run while checkpoints from before the collapse are still kept. 0 turns the check off.
    collapse_threshold: float = 0.01
    collapse_check_after: int = 2000  # Early on C separates G's noise easily; that is not a collapse.
    evaluator_dir: str = ""  # Empty: the data set's cached evaluator, if one was trained.
    strategy: str = "default"  # default | mirrored | multi_worker | tpu (ssl_gen/distribute.py)
    tpu: str = ""  # TPU name or address for --strategy=tpu; empty: the environment's.
    jit_compile: str = "auto"  # auto: on for GPU, off for CPU (measured slower there).
    mixed_precision: bool = False

    def __post_init__(self):
        for name in ("generator_units", "classifier_units", "discriminator_units", "encoder_units",
                     "classifier_channels", "discriminator_channels", "generator_channels", "augment_foot_classes"):
            setattr(self, name, tuple(int(units) for units in getattr(self, name)))

    def validate(self):
        positive = ("num_labeled", "latent_dim", "batch_size", "eval_every", "checkpoint_every",
                    "log_every", "keep_checkpoints")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive; received {getattr(self, name)}")
        for name in ("collapse_threshold", "collapse_check_after"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0; received {getattr(self, name)}")
        for name in ("class_balance_weight", "classifier_entropy_weight", "unlabeled_consistency_weight",
                     "generator_mode_seeking_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0; received {getattr(self, name)}")
        if self.consistency_cutout < 0:
            raise ConfigError(f"consistency_cutout must be >= 0 pixels; received {self.consistency_cutout}")
        if self.consistency_cutout and not self.unlabeled_consistency_weight:
            raise ConfigError(f"consistency_cutout={self.consistency_cutout} acts on the consistency copy, "
                              f"which unlabeled_consistency_weight=0 turns off: set that weight > 0")
        if self.augment_shift < 0:
            raise ConfigError(f"augment_shift must be >= 0 pixels; received {self.augment_shift}")
        if not 0.0 <= self.augment_rotation < 180.0:
            raise ConfigError(f"augment_rotation must lie in [0, 180) degrees; received {self.augment_rotation}")
        for name in ("augment_stroke", "augment_crossbar", "augment_foot", "augment_foot_unlabeled"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} is a probability in [0, 1]; received {getattr(self, name)}")
        if self.augment_crossbar_stem_only and not self.augment_crossbar:
            raise ConfigError("augment_crossbar_stem_only=True says where augment_crossbar draws its bar, "
                              "and augment_crossbar=0 draws none: set augment_crossbar > 0")
        if self.augment_crossbar_stem_width < 0:
            raise ConfigError(f"augment_crossbar_stem_width must be >= 0 pixels; received "
                              f"{self.augment_crossbar_stem_width}")
        if self.augment_crossbar_stem_width and not self.augment_crossbar_stem_only:
            raise ConfigError(f"augment_crossbar_stem_width={self.augment_crossbar_stem_width} limits the stems "
                              f"that augment_crossbar_stem_only=False does not look for: set it")
        if self.augment_foot_unlabeled and not (self.augment_foot_classes and self.unlabeled_consistency_weight):
            raise ConfigError(f"augment_foot_unlabeled={self.augment_foot_unlabeled} draws on the consistency "
                              f"copy of the unlabeled images C calls one of augment_foot_classes: it needs "
                              f"augment_foot_classes (received {list(self.augment_foot_classes)}) and "
                              f"unlabeled_consistency_weight > 0 (received {self.unlabeled_consistency_weight})")
        if bool(self.augment_foot or self.augment_foot_unlabeled) != bool(self.augment_foot_classes):
            raise ConfigError(f"augment_foot={self.augment_foot}, augment_foot_unlabeled="
                              f"{self.augment_foot_unlabeled} and augment_foot_classes="
                              f"{list(self.augment_foot_classes)} go together: a foot is drawn only on images "
                              f"of those classes (under a 7 it can make a Z-shaped 2), so set a probability "
                              f"and the classes, or neither")
        if self.augment_elastic < 0:
            raise ConfigError(f"augment_elastic must be >= 0 pixels; received {self.augment_elastic}")
        if not 0.0 <= self.augment_scale < 1.0:
            raise ConfigError(f"augment_scale must lie in [0, 1); received {self.augment_scale}")
        if self.train_steps <= 0 and self.epochs <= 0:
            raise ConfigError(f"train_steps must be positive (or epochs > 0); received "
                              f"train_steps={self.train_steps}, epochs={self.epochs}")
        if self.lr_warmup_steps < 0:
            raise ConfigError(f"lr_warmup_steps must be >= 0; received {self.lr_warmup_steps}")
        for name in ("learning_rate", "gan_learning_rate"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive; received {getattr(self, name)}")
        for name in ("adam_beta1", "generator_adam_beta1", "ema_decay", "lr_decay_start",
                     "confidence_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must lie in [0, 1]; received {getattr(self, name)}")
        if self.jit_compile not in ("auto", "true", "false"):
            raise ConfigError(f"jit_compile must be auto, true or false; received {self.jit_compile!r}")
        if self.generator_output_init not in layers.DIRECTION_INITS:
            raise ConfigError(f"generator_output_init must be one of {list(layers.DIRECTION_INITS)}; "
                              f"received {self.generator_output_init!r}")
        if self.architecture not in architectures.ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {list(architectures.ARCHITECTURES)}; "
                              f"received {self.architecture!r}")
        if self.preset:
            presets.get(self.preset)
        if self.strategy not in distribute.STRATEGIES:
            raise ConfigError(f"strategy must be one of {list(distribute.STRATEGIES)}; received "
                              f"{self.strategy!r}")
        for name in ("generator_mode_seeking_weight", "classifier_from"):
            if getattr(self, name) and self.method != "pseudo_label":
                raise ConfigError(f"{name} applies to --method=pseudo_label only; received method={self.method!r}")
        if not self.output_dir:
            raise ConfigError("output_dir is required")
        if self.classifier_from:
            self._check_classifier_source()
        return self

    def _check_classifier_source(self):
        """The source run must hold the same C, trained on the same data and labeled split as this run."""
        source = load(self.classifier_from)
        same = ("dataset", "num_labeled", "seed", "architecture", "classifier_units", "classifier_channels")
        differences = [f"{name}: {self.classifier_from} has {getattr(source, name)!r}, received "
                       f"{getattr(self, name)!r}" for name in same if getattr(source, name) != getattr(self, name)]
        if os.path.realpath(source.data_path or "") != os.path.realpath(self.data_path or ""):
            differences.append(f"data_path: {self.classifier_from} has {source.data_path!r}, received "
                               f"{self.data_path!r}")
        if differences:
            raise ConfigError("classifier_from must name a run with this run's data, labeled split and C; "
                              + "; ".join(differences))

    def total_steps(self, num_train_images):
        if self.epochs > 0:
            return max(1, round(self.epochs * num_train_images / self.batch_size))
        return self.train_steps

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        return cls(**values)


def load(run_dir):
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        raise ConfigError(f"no {CONFIG_FILE} in {run_dir!r}: is it a run directory?")
    with open(path) as file:
        values = json.load(file)
    return Config.from_dict({**_BEFORE_THE_FIELD_EXISTED, **values})


def check_against_saved(config, run_dir):
    """If the directory already holds a run, it must be the same experiment.

    Returns the settings that differ from the previous invocation's, {name: (old, new)}, for
    `record_changes`. Writes nothing, so a caller can refuse a change before `save` overwrites the record.
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return {}
    previous = load(run_dir)
    changes = {field.name: (getattr(previous, field.name), getattr(config, field.name))
               for field in dataclasses.fields(Config)
               if field.name not in _NOT_SETTINGS
               and getattr(previous, field.name) != getattr(config, field.name)}
    clashes = {name: changes[name] for name in IDENTITY_FIELDS if name in changes}
    if clashes:
        details = ", ".join(f"{name}: run has {old!r}, received {new!r}"
                            for name, (old, new) in clashes.items())
        raise ConfigError(f"{run_dir!r} holds a different run ({details}); "
                          "use a new --output_dir or the same settings")
    return changes


def save(config, run_dir):
    """Writes config.json atomically."""
    path = os.path.join(run_dir, CONFIG_FILE)
    temporary = path + ".tmp"
    with open(temporary, "w") as file:
        file.write(config.to_json())
    os.replace(temporary, path)


def record_changes(run_dir, changes, step):
    """Appends one line {"step", "changed": {name: {"from", "to"}}} to the run's CHANGES_FILE."""
    if not changes:
        return
    line = {"step": int(step),
            "changed": {name: {"from": old, "to": new} for name, (old, new) in sorted(changes.items())}}
    with open(os.path.join(run_dir, CHANGES_FILE), "a") as file:
        file.write(json.dumps(line) + "\n")
