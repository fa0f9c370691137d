"""One run's configuration: a dataclass written to DIR/config.json and checked on resume."""

import dataclasses
import json
import os

from ssl_gen import methods, settings
from ssl_gen.models import architectures
from ssl_gen.settings import setting
from ssl_gen.training import distribute, precision, presets
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
FORMAT_VERSION = 3
_FORMAT_KEY = "format_version"


@dataclasses.dataclass
class Config:
    """One run: where it lives, its data, the optimiser and the runtime, declared here; the networks'
    settings (`networks`, declared in ssl_gen/models/architectures.py) and the method's own
    (`method_settings`, declared in its module under ssl_gen/methods/). `build` makes one from flat
    names, as flags, presets and the Python API give them."""

    output_dir: str = setting("", "Run directory: config, split, checkpoints, logs, samples. Rerun to resume.")
    preset: str = setting("", f"Named configuration (ssl_gen/training/presets.py: {', '.join(presets.PRESETS)}); "
                              "settings given explicitly override its values.")
    # Data
    dataset: str = setting("mnist", "tfds data set: mnist, fashion_mnist, svhn_cropped or cifar10 (ignored "
                                    "with --data_path).")
    data_path: str = setting("", "An .npz in the keras.datasets layout (x_train, y_train, x_test, y_test); "
                                 "overrides --dataset.")
    num_labeled: int = setting(100, "Labeled training images in total, balanced per class.")
    seed: int = setting(1, "Seed of the labeled and validation splits, the initial weights, the noise and the "
                           "data order.")
    validation_size: int = setting(-1, "Training images held out to choose settings, never trained on: -1 is "
                                       "10 % of them (at most 5,000), 0 none. Saved as validation_indices.npy.")
    method: str = setting("joint", "Semi-supervised method: joint, triple_gan, improved_gan, ssvae_m2 or "
                                   "pseudo_label (ssl_gen/methods); each has its own settings.")
    # Optimisation
    train_steps: int = setting(30000, "Training steps (one update of each network).")
    epochs: float = setting(0.0, "If > 0, train this many passes over the unlabeled set instead of "
                                 "--train_steps.")
    batch_size: int = setting(100, "Unlabeled (and generated) images per step; the labeled batch is "
                                   "min(this, num_labeled).")
    learning_rate: float = setting(3e-3, "Adam learning rate of every network.")
    adam_beta1: float = setting(0.5, "Adam beta_1.")
    # improved-gan adds 1e-8 inside the square root: about 1e-4 outside.
    adam_epsilon: float = setting(1e-4, "Adam epsilon.")
    lr_decay_start: float = setting(1.0, "Fraction of training after which the learning rate decays linearly "
                                         "to 0.")
    lr_warmup_steps: int = setting(1000, "Steps over which every learning rate rises linearly to its full value "
                                      "(0: none).")
    # Runtime
    eval_every: int = setting(2000, "Evaluate (validation error, sample grid, metrics.csv row) every this "
                                    "many steps.")
    checkpoint_every: int = setting(2000, "Save a checkpoint every this many steps.")
    log_every: int = setting(200, "Log losses and steps/s every this many steps.")
    keep_checkpoints: int = setting(3, "Checkpoints kept on disk.")
    # A collapsed GAN game stops the run while checkpoints from before the collapse are still kept.
    collapse_threshold: float = setting(0.01, "Stop training when C's real/fake loss (averaged over "
                                              "--log_every steps) falls below this: the GAN game has "
                                              "collapsed. 0: never stop.")
    # Early on C separates G's noise easily; that is not a collapse.
    collapse_check_after: int = setting(2000, "Step from which --collapse_threshold is checked.")
    evaluator_dir: str = setting("", "Evaluator for the conditional accuracy logged while training "
                                     "(default: the data set's cache from experiments/train_evaluator.py).")
    strategy: str = setting("default", "tf.distribute strategy: default (one device), mirrored (all local "
                                       "GPUs), multi_worker (TF_CONFIG) or tpu. --batch_size is global. See "
                                       "docs/DISTRIBUTED.md.")
    tpu: str = setting("", "TPU name or grpc:// address for --strategy=tpu (empty: from the environment).")
    jit_compile: str = setting("auto", "XLA for the train step: auto (on for GPU, off for CPU), true or "
                                       "false.")
    mixed_precision: bool = setting(precision.native_bfloat16(), "Compute in bfloat16 with float32 weights and "
                                                                 "logits; on by default where the CPU (AMX, "
                                                                 "AVX512-BF16) or GPU (Ampere on) computes it "
                                                                 "natively. Evaluation and export compute in "
                                                                 "float32.")
    # The groups
    networks: architectures.NetworkSettings = dataclasses.field(default_factory=architectures.NetworkSettings)
    method_settings: object = None  # the method's Settings; None: its defaults

    def __post_init__(self):
        if isinstance(self.networks, dict):
            self.networks = _group(architectures.NetworkSettings, self.networks, "networks")
        settings_class = methods.get_class(self.method).Settings
        if self.method_settings is None:
            self.method_settings = settings_class()
        elif isinstance(self.method_settings, dict):
            self.method_settings = _group(settings_class, self.method_settings, f"{self.method}'s settings")
        elif not isinstance(self.method_settings, settings_class):
            raise ConfigError(f"method_settings of --method={self.method} must be a "
                              f"{settings_class.__module__}.Settings; received {type(self.method_settings)}")

    def validate(self):
        settings.require_positive(self, "num_labeled", "batch_size", "eval_every", "checkpoint_every",
                                  "log_every", "keep_checkpoints", "learning_rate")
        if self.validation_size < -1:
            raise ConfigError(f"validation_size must be -1 (automatic), 0 (off) or a count; received "
                              f"{self.validation_size}")
        settings.require_non_negative(self, "collapse_threshold", "collapse_check_after", "lr_warmup_steps")
        if self.train_steps <= 0 and self.epochs <= 0:
            raise ConfigError(f"train_steps must be positive (or epochs > 0); received "
                              f"train_steps={self.train_steps}, epochs={self.epochs}")
        settings.require_unit_interval(self, "adam_beta1", "lr_decay_start")
        settings.require_choice(self, "jit_compile", ("auto", "true", "false"))
        settings.require_choice(self, "strategy", distribute.STRATEGIES)
        if self.preset:
            presets.get(self.preset)
        if not self.output_dir:
            raise ConfigError("output_dir is required")
        self.networks.validate(self)
        self.method_settings.validate(self)
        return self

    def total_steps(self, num_train_images):
        if self.epochs > 0:
            return max(1, round(self.epochs * num_train_images / self.batch_size))
        return self.train_steps

    def flat(self):
        """{name: value} of every setting, the groups' included (names are unique across groups)."""
        values = {name: getattr(self, name) for name in RUN_SETTINGS}
        values.update(dataclasses.asdict(self.networks))
        values.update(dataclasses.asdict(self.method_settings))
        return values

    def to_json(self):
        return json.dumps({_FORMAT_KEY: FORMAT_VERSION, **dataclasses.asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        values = {name: value for name, value in values.items() if name != _FORMAT_KEY}
        unknown = sorted(set(values) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        return cls(**values)


# The run's own settings; the groups' come from their modules.
RUN_SETTINGS = tuple(field.name for field in dataclasses.fields(Config)
                     if field.name not in ("networks", "method_settings"))


def _group(settings_class, values, where):
    unknown = sorted(set(values) - set(settings.names(settings_class)))
    if unknown:
        raise ConfigError(f"unknown keys {unknown} in {where}")
    return settings_class(**values)


def build(**values):
    """A Config from flat settings, each name going to the group that declares it.

    Args:
      **values: any setting of the run, of the networks or of the chosen method (default: Config's).
    Returns:
      The Config (not yet validated).
    Raises:
      ConfigError: a name no group declares, or one that belongs to another method.
    """
    method = values.get("method", Config.method)
    settings_class = methods.get_class(method).Settings
    groups = {"run": RUN_SETTINGS, "networks": settings.names(architectures.NetworkSettings),
              "method": settings.names(settings_class)}
    routed = {group: {name: values[name] for name in names if name in values} for group, names in groups.items()}
    stray = sorted(set(values) - {name for names in groups.values() for name in names})
    if stray:
        raise ConfigError("; ".join(_not_a_setting(name, method) for name in stray))
    return Config(**routed["run"], networks=architectures.NetworkSettings(**routed["networks"]),
                  method_settings=settings_class(**routed["method"]))


def method_setting_owners():
    """{setting name: [methods that declare it]} over every method."""
    owners = {}
    for name, method_class in methods.METHODS.items():
        for setting_name in settings.names(method_class.Settings):
            owners.setdefault(setting_name, []).append(name)
    return owners


def _not_a_setting(name, method):
    owners = method_setting_owners().get(name)
    if owners:
        return f"{name} is a setting of {', '.join(owners)}, not of method={method!r}"
    return f"unknown setting {name!r}"


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
    if previous.method != config.method:
        raise ConfigError(f"{run_dir!r} holds a different run (method: run has {previous.method!r}, received "
                          f"{config.method!r}); use a new --output_dir or the same settings")
    before, after = previous.flat(), config.flat()
    changes = {name: (before[name], after[name]) for name in before
               if name not in _NOT_SETTINGS and before[name] != after[name]}
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
