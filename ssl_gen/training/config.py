"""One run's configuration: a dataclass written to DIR/config.json and checked on resume."""

import dataclasses
import json
import os

from ssl_gen.models import architectures, layers
from ssl_gen.training import distribute, presets
from ssl_gen.errors import ConfigError

CONFIG_FILE = "config.json"
# config.json holds the latest invocation's settings; a resume that changes any of them (a longer
# --train_steps, another weight-average decay) is appended here, so a run made by several commands can
# be reproduced from its directory.
CHANGES_FILE = "config_changes.jsonl"
# Where a run lives is not part of what it computes.
_NOT_SETTINGS = ("output_dir",)
# A resumed run must agree on these, or it would mix two experiments in one directory.
IDENTITY_FIELDS = ("dataset", "data_path", "method", "num_labeled", "seed", "validation_size")
# The run directory's format: raised whenever a run trained by older code could not continue or be
# judged as it was trained (its settings, seed streams or checkpointed variables changed).
# A config.json without the key is format 1.
FORMAT_VERSION = 2
_FORMAT_KEY = "format_version"


@dataclasses.dataclass
class Config:
    output_dir: str = ""
    preset: str = ""  # A named configuration from ssl_gen/training/presets.py; explicit flags override it.
    # Data
    dataset: str = "mnist"
    data_path: str = ""
    num_labeled: int = 100
    seed: int = 1
    # Training images held out to choose settings: -1 is 10 % of them, at most 5,000; 0: none.
    validation_size: int = -1
    # Method and networks
    method: str = "triple_gan"
    latent_dim: int = 100
    generator_units: tuple = (500, 500)
    generator_tanh_scale: float = 1.0  # mlp: G outputs tanh(scale·a); the anchors' sigmoid is 0.5.
    # mlp: init of the direction of G's weight-normed output layer: N(0, 0.1) or the anchors' Glorot-uniform.
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
    classifier_adversarial_weight: float = 0.0  # C's loss through D(x, y)
    classifier_generated_weight: float = 0.0  # C's cross-entropy on G's samples (Triple-GAN's R_p)
    class_balance_weight: float = 0.0  # KL(uniform ‖ C's batch-mean prediction) on unlabeled images
    classifier_entropy_weight: float = 0.0  # Triple-GAN's H(C(x_u)) term
    generator_adversarial_weight: float = 0.1
    generator_feature_matching_weight: float = 1.0
    generator_classification_weight: float = 0.0
    # pseudo_label: MSGAN's mode-seeking term in G's loss, against a G that ignores its latent within a class.
    generator_mode_seeking_weight: float = 0.0
    # improved_gan / triple_gan: class-blind augmentation of C's labeled images (and of the consistency
    # copy): shift in pixels, rotation in degrees, scale factor range, Simard's elastic alpha in pixels.
    augment_shift: int = 0
    augment_rotation: float = 0.0
    augment_scale: float = 0.0
    augment_elastic: float = 0.0
    # improved_gan / triple_gan: KL between C's prediction on an unlabeled image and on an augmented copy,
    # where C's prediction reaches confidence_threshold, so the clusters learn the augmentation's invariances.
    unlabeled_consistency_weight: float = 0.0
    consistency_cutout: int = 0  # Side of one square erased from that copy (FixMatch's strong-view cutout).
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
    # real batch after C's update, as improved-gan's separate D and G functions do.
    independent_generator_step: bool = True
    # Optimisation
    train_steps: int = 50000
    epochs: float = 0.0  # If > 0, overrides train_steps: epochs over the unlabeled set.
    batch_size: int = 100
    learning_rate: float = 3e-3
    adam_beta1: float = 0.5
    generator_adam_beta1: float = 0.5  # G's own Adam β1 (Bad GAN's MNIST G: 0).
    adam_epsilon: float = 1e-4  # improved-gan adds 1e-8 inside the sqrt: about 1e-4 outside.
    lr_decay_start: float = 0.5  # Fraction of training after which lr decays linearly to 0.
    lr_warmup_steps: int = 0  # Steps over which every rate rises linearly to its full value.
    ema_decay: float = 0.9999  # improved-gan's average of C's weights, used for evaluation and export.
    # Runtime
    eval_every: int = 2000
    checkpoint_every: int = 2000
    log_every: int = 200
    keep_checkpoints: int = 3
    # A collapsed GAN game (C tells G's images from real ones perfectly, its real/fake loss near 0) stops
    # the run while checkpoints from before the collapse are still kept. 0 turns the check off.
    collapse_threshold: float = 0.01
    collapse_check_after: int = 2000  # Early on C separates G's noise easily; that is not a collapse.
    evaluator_dir: str = ""  # Empty: the data set's cached evaluator, if one was trained.
    strategy: str = "default"  # default | mirrored | multi_worker | tpu (ssl_gen/training/distribute.py)
    tpu: str = ""  # TPU name or address for --strategy=tpu; empty: the environment's.
    jit_compile: str = "auto"  # auto: on for GPU, off for CPU (measured slower there).
    mixed_precision: bool = False

    def __post_init__(self):
        for name in ("generator_units", "classifier_units", "discriminator_units", "encoder_units",
                     "classifier_channels", "discriminator_channels", "generator_channels"):
            setattr(self, name, tuple(int(units) for units in getattr(self, name)))

    def validate(self):
        positive = ("num_labeled", "latent_dim", "batch_size", "eval_every", "checkpoint_every",
                    "log_every", "keep_checkpoints")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive; received {getattr(self, name)}")
        if self.validation_size < -1:
            raise ConfigError(f"validation_size must be -1 (automatic), 0 (off) or a count; received "
                              f"{self.validation_size}")
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
        same = ("dataset", "num_labeled", "seed", "validation_size", "architecture", "classifier_units", "classifier_channels")
        differences = [f"{name}: {self.classifier_from} has {getattr(source, name)!r}, received "
                       f"{getattr(self, name)!r}" for name in same if getattr(source, name) != getattr(self, name)]
        if not same_data_path(source.data_path, self.data_path):
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
        return json.dumps({_FORMAT_KEY: FORMAT_VERSION, **dataclasses.asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        known = {field.name for field in dataclasses.fields(cls)}
        values = {name: value for name, value in values.items() if name != _FORMAT_KEY}
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
    version = values.get(_FORMAT_KEY, 1)
    if version != FORMAT_VERSION:
        raise ConfigError(f"{run_dir!r} holds a run in format {version}; this ssl_gen reads format "
                          f"{FORMAT_VERSION} ({_FORMAT_KEY} in {CONFIG_FILE}). Resume, evaluate or export it "
                          "with the ssl_gen version that trained it, or train again in a new --output_dir")
    return Config.from_dict(values)


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
    if "data_path" in changes and same_data_path(*changes["data_path"]):
        del changes["data_path"]  # the same file, spelled relative once and absolute once
    clashes = {name: changes[name] for name in IDENTITY_FIELDS if name in changes}
    if clashes:
        details = ", ".join(f"{name}: run has {old!r}, received {new!r}"
                            for name, (old, new) in clashes.items())
        raise ConfigError(f"{run_dir!r} holds a different run ({details}); "
                          "use a new --output_dir or the same settings")
    return changes


def same_data_path(first, second):
    """Whether two --data_path values name the same file (one may be relative, one absolute)."""
    return first == second or (bool(first) and bool(second)
                               and os.path.realpath(first) == os.path.realpath(second))


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
