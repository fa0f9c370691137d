"""Training runs end to end through the library: outputs, resume, refusals, NaN guard."""

import csv
import glob
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.training import config as ssl_config
from ssl_gen import data, methods
from ssl_gen.training import runs, train, trainer
from ssl_gen.errors import ConfigError, TrainingError
from ssl_gen.methods.triple_gan import TripleGan
from ssl_gen.optim import adam_moments
from ssl_gen.training.trainer import trackable
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def _metric_rows(run_dir):
    with open(os.path.join(run_dir, "metrics.csv"), newline="") as file:
        return list(csv.DictReader(file))


def test_run_writes_every_output(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    metrics = train.run(tiny_config(run_dir, mnist_small_path))
    assert 0.0 <= metrics["eval/validation_error"] <= 1.0
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["num_labeled"] == 20 and saved["data_path"] == mnist_small_path
    assert saved["validation_size"] == -1
    indices = np.load(run_dir / "labeled_indices.npy")
    validation = np.load(run_dir / "validation_indices.npy")
    assert len(indices) == 20 and len(validation) == 100  # 10 % of the 1,000 training images
    assert not np.intersect1d(indices, validation).size
    rows = _metric_rows(run_dir)
    assert [int(row["step"]) for row in rows] == [3, 6]
    assert {"loss/classifier", "loss/discriminator", "loss/generator", "eval/validation_error"} <= set(rows[0])
    assert not [column for column in rows[0] if "test" in column]
    grid = tf.io.decode_png(tf.io.read_file(str(run_dir / "samples" / "step_000006.png")))
    assert grid.shape == (280, 280, 1)  # 10 classes × 10 samples of 28×28.
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-6")
    assert os.listdir(run_dir / "tensorboard")


def test_resume_continues_step_split_and_metrics(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=6))
    indices = np.load(run_dir / "labeled_indices.npy")
    validation = np.load(run_dir / "validation_indices.npy")
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=9))
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-9")
    np.testing.assert_array_equal(np.load(run_dir / "labeled_indices.npy"), indices)
    np.testing.assert_array_equal(np.load(run_dir / "validation_indices.npy"), validation)
    rows = _metric_rows(run_dir)
    assert [int(row["step"]) for row in rows] == [3, 6, 9]
    wall_times = [float(row["wall_time"]) for row in rows]
    assert wall_times == sorted(wall_times)


def test_rerun_with_a_different_experiment_is_refused(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3))
    with pytest.raises(ConfigError, match="num_labeled: run has 20, received 30"):
        train.run(tiny_config(run_dir, mnist_small_path, num_labeled=30))
    with pytest.raises(ConfigError, match="validation_size: run has -1, received 50"):
        train.run(tiny_config(run_dir, mnist_small_path, validation_size=50))


def test_the_same_data_file_spelled_another_way_resumes(tmp_path, mnist_small_path, monkeypatch):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3))
    monkeypatch.chdir(os.path.dirname(mnist_small_path))
    relative = os.path.join("..", os.path.basename(os.path.dirname(mnist_small_path)),
                            os.path.basename(mnist_small_path))
    train.run(tiny_config(run_dir, relative, train_steps=6))
    assert runs.restore(str(run_dir), data_path=mnist_small_path)[3] == 6


def _with_noise_as_test_set(source, destination):
    with np.load(source) as arrays:
        values = dict(arrays)
    rng = np.random.default_rng(0)
    values["x_test"] = rng.integers(0, 256, values["x_test"].shape, dtype=np.uint8)
    values["y_test"] = rng.integers(0, 10, values["y_test"].shape).astype(values["y_test"].dtype)
    np.savez(destination, **values)
    return str(destination)


def test_training_never_reads_the_test_set(tmp_path, mnist_small_path):
    # The same seeded run on data whose test arrays are noise logs the same metrics, to the last digit.
    noisy_path = _with_noise_as_test_set(mnist_small_path, tmp_path / "noisy_test.npz")
    logged = []
    for name, path in (("real", mnist_small_path), ("noise", noisy_path)):
        train.run(tiny_config(tmp_path / name, path, train_steps=6))
        rows = _metric_rows(tmp_path / name)
        logged.append([{key: value for key, value in row.items() if key != "wall_time"} for row in rows])
    assert logged[0] == logged[1]
    assert all(row["eval/validation_error"] for row in logged[0])


def test_a_run_without_validation_split_logs_no_classifier_error(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    metrics = train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, validation_size=0))
    assert not (run_dir / "validation_indices.npy").exists()
    assert not [name for name in metrics if "error" in name]


def test_a_refused_validation_size_leaves_the_directory_free_for_the_corrected_command(tmp_path,
                                                                                       mnist_small_path):
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError, match="leaves no training images"):
        train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, validation_size=5000))
    assert not run_dir.exists()
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, validation_size=200))
    assert len(np.load(run_dir / "validation_indices.npy")) == 200


@pytest.mark.parametrize("mistake, fragment", [
    (dict(num_labeled=7), "num_labeled=7 is not divisible"),
    (dict(method="ssvae_m2", architecture="conv"), "ssvae_m2 has MLP networks only"),
])
def test_a_refused_start_writes_nothing_so_the_corrected_command_runs(tmp_path, mnist_small_path, mistake,
                                                                      fragment):
    existing, new = tmp_path / "existing", tmp_path / "new"
    existing.mkdir()
    for run_dir in (existing, new):
        with pytest.raises(ConfigError, match=fragment):
            train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, **mistake))
    assert list(existing.iterdir()) == [] and not new.exists()
    train.run(tiny_config(new, mnist_small_path, train_steps=3))
    assert (new / "config.json").exists() and (new / "labeled_indices.npy").exists()


def _reporting_after_four_steps(loss_name, value):
    """A Triple-GAN whose `loss_name` reads `value` from step 5 on (a NaN, a collapsed game)."""

    class Faulty(TripleGan):
        def train_step(self, labeled, unlabeled):
            result = super().train_step(labeled, unlabeled)
            result[loss_name] = tf.where(self.classifier.optimizer.iterations > 4, value, result[loss_name])
            return result

    return Faulty


_NanAfterFourSteps = _reporting_after_four_steps("loss/discriminator/real", np.nan)
# C's real/fake loss drops to ~0, as in a collapsed GAN game.
_CollapsesAfterFourSteps = _reporting_after_four_steps("loss/classifier/unsupervised", 1e-5)


def test_nan_loss_stops_with_step_and_component_and_keeps_last_checkpoint(tmp_path, mnist_small_path,
                                                                           monkeypatch):
    monkeypatch.setitem(methods.METHODS, "nan_after_four", _NanAfterFourSteps)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"step 5: loss/discriminator/real=nan"):
        train.run(tiny_config(run_dir, mnist_small_path, method="nan_after_four"))
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-3")


def test_a_collapsed_gan_game_stops_the_run_and_keeps_earlier_checkpoints(tmp_path, mnist_small_path,
                                                                         monkeypatch):
    monkeypatch.setitem(methods.METHODS, "collapses", _CollapsesAfterFourSteps)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"collapsed by step 9: loss/classifier/unsupervised=1e-05"):
        train.run(tiny_config(run_dir, mnist_small_path, method="collapses", train_steps=12,
                              collapse_check_after=0))
    # Steps 4–6 mix healthy and collapsed steps (mean above the threshold); 7–9 are all collapsed.
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-6")


@pytest.mark.parametrize("overrides", [{"collapse_threshold": 0.0}, {"collapse_check_after": 100}])
def test_the_collapse_check_can_be_turned_off_or_deferred(tmp_path, mnist_small_path, monkeypatch,
                                                           overrides):
    monkeypatch.setitem(methods.METHODS, "collapses", _CollapsesAfterFourSteps)
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, method="collapses", train_steps=12, **overrides))
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-12")


@pytest.mark.parametrize("field,value,fragment", [
    ("batch_size", 0, "batch_size must be positive; received 0"),
    ("train_steps", -5, "train_steps=-5"),
    ("learning_rate", 0.0, "learning_rate must be positive"),
    ("ema_decay", 1.5, "ema_decay must lie in [0, 1]; received 1.5"),
    ("lr_warmup_steps", -100, "lr_warmup_steps must be >= 0; received -100"),
    ("generator_adam_beta1", -0.5, "generator_adam_beta1 must lie in [0, 1]; received -0.5"),
    ("method", "no_such_method", "unknown method 'no_such_method'"),
    ("augment_shift", -1, "augment_shift must be >= 0 pixels; received -1"),
    ("augment_rotation", 180.0, "augment_rotation must lie in [0, 180) degrees; received 180.0"),
    ("augment_scale", -0.1, "augment_scale must lie in [0, 1); received -0.1"),
    ("augment_elastic", -1.0, "augment_elastic must be >= 0 pixels; received -1.0"),
    ("validation_size", -2, "validation_size must be -1 (automatic), 0 (off) or a count; received -2"),
    ("validation_size", 1000, "validation_size=1000 leaves no training images: the training set has 1000"),
    ("confidence_threshold", 1.2, "confidence_threshold must lie in [0, 1]; received 1.2"),
    ("collapse_threshold", -0.1, "collapse_threshold must be >= 0; received -0.1"),
    ("unlabeled_consistency_weight", -1.0, "unlabeled_consistency_weight must be >= 0; received -1.0"),
    ("consistency_cutout", 4, "consistency_cutout=4 acts on the consistency copy, which "
                              "unlabeled_consistency_weight=0 turns off"),
    ("classifier_entropy_weight", -0.3, "classifier_entropy_weight must be >= 0; received -0.3"),
    ("generator_output_init", "he", "generator_output_init must be one of ['normal', 'glorot']; "
                                    "received 'he'"),
])
def test_bad_config_values_are_refused(tmp_path, mnist_small_path, field, value, fragment):
    with pytest.raises(ConfigError) as error:
        train.run(tiny_config(tmp_path / "run", mnist_small_path, **{field: value}))
    assert fragment in str(error.value)


def test_unwritable_output_dir_is_refused(tmp_path, mnist_small_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write to output_dir"):
        train.run(tiny_config(blocker / "run", mnist_small_path))


@pytest.mark.parametrize("overrides", [{"mixed_precision": True}, {"jit_compile": "true"}],
                         ids=["bfloat16", "xla"])
def test_runtime_options_train_to_finite_losses(tmp_path, mnist_small_path, overrides):
    run_dir = tmp_path / "run"
    metrics = train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, **overrides))
    # The run's policy was its own: the caller's global policy is as it was.
    assert keras.mixed_precision.global_policy().name == "float32"
    assert 0.0 <= metrics["eval/validation_error"] <= 1.0
    losses = {key: float(value) for key, value in _metric_rows(run_dir)[-1].items() if key.startswith("loss/")}
    assert losses and all(np.isfinite(value) for value in losses.values())


def test_resume_with_changed_settings_records_them_with_the_step(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=6))
    assert not (run_dir / "config_changes.jsonl").exists()
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=9, ema_decay=0.5))
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=9, ema_decay=0.5))  # unchanged: no line
    lines = [json.loads(line) for line in (run_dir / "config_changes.jsonl").read_text().splitlines()]
    default_decay = tiny_config(run_dir, mnist_small_path).method_settings.ema_decay
    assert lines == [{"step": 6, "changed": {"ema_decay": {"from": default_decay, "to": 0.5},
                                             "train_steps": {"from": 6, "to": 9}}}]
    assert json.loads((run_dir / "config.json").read_text())["method_settings"]["ema_decay"] == 0.5


@pytest.mark.parametrize("version", [None, 1, ssl_config.FORMAT_VERSION + 1])
def test_a_run_in_another_format_is_refused_with_its_version_and_left_as_it_was(
        tmp_path, mnist_small_path, version):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3))
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["format_version"] == ssl_config.FORMAT_VERSION
    if version is None:
        del saved["format_version"]  # as written before the key existed: format 1
    else:
        saved["format_version"] = version
    (run_dir / "config.json").write_text(json.dumps(saved))
    before = sorted(os.listdir(run_dir))
    with pytest.raises(ConfigError, match=f"in format {version or 1}; this ssl_gen reads format "
                                          f"{ssl_config.FORMAT_VERSION}"):
        train.run(tiny_config(run_dir, mnist_small_path, train_steps=5))
    assert sorted(os.listdir(run_dir)) == before and json.loads((run_dir / "config.json").read_text()) == saved


def _restored_network(run_dir, name):
    """The network `name` (a checkpoint item) of a run's latest checkpoint."""
    config = ssl_config.load(str(run_dir))
    method = methods.create(config, data.load_npz(config.data_path).spec, total_steps=config.train_steps)
    method.build()
    network = method.checkpoint_items()[name]
    checkpoint = tf.train.Checkpoint(**{name: trackable(network)})
    checkpoint.restore(tf.train.latest_checkpoint(str(run_dir / "checkpoints"))).expect_partial()
    return network


def _classifier_weights(run_dir):
    """The averaged C of a run's latest checkpoint, as arrays."""
    return [weight.numpy() for weight in _restored_network(run_dir, "classifier_average").weights]


def test_a_generator_trains_on_a_finished_runs_fixed_classifier(tmp_path, mnist_small_path):
    source, target = tmp_path / "source", tmp_path / "target"
    source_metrics = train.run(tiny_config(source, mnist_small_path, method="improved_gan", train_steps=3,
                                           eval_every=3))
    metrics = train.run(tiny_config(target, mnist_small_path, method="pseudo_label",
                                    classifier_from=str(source), train_steps=6))
    for ours, theirs in zip(_classifier_weights(target), _classifier_weights(source)):
        np.testing.assert_array_equal(ours, theirs)  # loaded, then left alone for 6 steps
    assert metrics["eval/validation_error"] == pytest.approx(source_metrics["eval/validation_error"], abs=1e-9)
    rows = _metric_rows(target)
    assert not any(name.startswith("loss/classifier") for name in rows[0])
    assert {"loss/discriminator", "loss/generator"} <= set(rows[0])


def _generator_weights(run_dir):
    # Trainable only: the term's extra G pass also moves batch norm's statistics.
    return [weight.numpy() for weight in _restored_network(run_dir, "generator").trainable_weights]


def test_the_mode_seeking_term_is_logged_and_moves_the_generator(tmp_path, mnist_small_path):
    runs_by_weight = {}
    for weight in (0.0, 1.0):
        run_dir = tmp_path / f"weight_{weight}"
        train.run(tiny_config(run_dir, mnist_small_path, method="pseudo_label", train_steps=3,
                              generator_mode_seeking_weight=weight))
        runs_by_weight[weight] = run_dir
    off, on = _metric_rows(runs_by_weight[0.0]), _metric_rows(runs_by_weight[1.0])
    assert "loss/generator/mode_seeking" not in off[0]
    assert 0.0 < float(on[-1]["loss/generator/mode_seeking"]) < 1e5  # finite: G's images differ by latent
    # Same seed, data and steps: only the term's gradient can make the two generators differ.
    differences = [np.abs(a - b).max() for a, b in zip(_generator_weights(runs_by_weight[0.0]),
                                                       _generator_weights(runs_by_weight[1.0]))]
    assert max(differences) > 1e-6


@pytest.mark.parametrize("overrides, fragment", [
    (dict(method="pseudo_label", generator_mode_seeking_weight=-1.0),
     "generator_mode_seeking_weight must be >= 0; received -1.0"),
    (dict(method="triple_gan", generator_mode_seeking_weight=1.0),
     "generator_mode_seeking_weight is a setting of pseudo_label, not of method='triple_gan'"),
])
def test_a_bad_mode_seeking_weight_is_refused(tmp_path, mnist_small_path, overrides, fragment):
    with pytest.raises(ConfigError, match=fragment):
        tiny_config(tmp_path / "run", mnist_small_path, **overrides).validate()


@pytest.mark.parametrize("overrides, fragment", [
    (dict(seed=2), "seed: .* has 1, received 2"),
    (dict(num_labeled=30), "num_labeled: .* has 20, received 30"),
    (dict(classifier_units=(64, 16)), r"classifier_units: .* has \(32, 16\), received \(64, 16\)"),
    (dict(method="improved_gan"), "classifier_from is a setting of pseudo_label, not of method='improved_gan'"),
])
def test_a_classifier_source_that_does_not_match_is_refused(tmp_path, mnist_small_path, overrides, fragment):
    source = tmp_path / "source"
    train.run(tiny_config(source, mnist_small_path, method="improved_gan", train_steps=3))
    values = dict(method="pseudo_label", classifier_from=str(source))
    values.update(overrides)
    with pytest.raises(ConfigError, match=fragment):
        tiny_config(tmp_path / "target", mnist_small_path, **values).validate()


def test_a_classifier_source_without_a_run_or_checkpoint_is_refused(tmp_path, mnist_small_path):
    with pytest.raises(ConfigError, match="no config.json in .*missing"):
        tiny_config(tmp_path / "target", mnist_small_path, method="pseudo_label",
                    classifier_from=str(tmp_path / "missing")).validate()
    source = tmp_path / "source"
    train.run(tiny_config(source, mnist_small_path, method="improved_gan", train_steps=3))
    for checkpoint_file in (source / "checkpoints").iterdir():
        checkpoint_file.unlink()
    with pytest.raises(ConfigError, match="has no checkpoint"):
        train.run(tiny_config(tmp_path / "target", mnist_small_path, method="pseudo_label",
                              classifier_from=str(source)))


def _generated_images(run_dir):
    _, _, method, step = runs.restore(str(run_dir))
    latents = method.sample_latents(6, seed=5)
    return method.generate(tf.constant([0, 1, 2, 3, 4, 5]), latents).numpy(), method, step


def test_changing_the_generator_tanh_scale_on_resume_keeps_g_and_rescales_adams_moments(
        tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, generator_tanh_scale=0.5,
                          method="improved_gan"))
    before, method, _ = _generated_images(run_dir)
    output = method.generator.network.output_dense
    _, velocity = adam_moments(method.generator.optimizer, output.scale)
    scale, velocity = output.scale.numpy(), velocity.numpy()
    # Same train_steps: nothing is trained, so only the switch itself can change the images.
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, generator_tanh_scale=1.0,
                          method="improved_gan"))
    after, method, step = _generated_images(run_dir)
    assert step == 3
    np.testing.assert_allclose(after, before, atol=1e-5)
    assert not np.allclose(before, np.tanh(2.0 * np.arctanh(np.clip(before, -0.999, 0.999))), atol=1e-3)
    np.testing.assert_allclose(method.generator.network.output_dense.scale.numpy(), scale / 2.0, rtol=1e-6)
    _, rescaled = adam_moments(method.generator.optimizer, method.generator.network.output_dense.scale)
    np.testing.assert_allclose(rescaled.numpy(), velocity * 4.0, rtol=1e-5)


def test_changing_the_tanh_scale_of_a_method_without_one_is_refused_before_config_is_rewritten(
        tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, method="ssvae_m2"))
    saved = (run_dir / "config.json").read_text()
    with pytest.raises(ConfigError, match="generator_tanh_scale cannot change on resume.*ssvae_m2"):
        train.run(tiny_config(run_dir, mnist_small_path, train_steps=4, method="ssvae_m2",
                              generator_tanh_scale=0.5))
    assert (run_dir / "config.json").read_text() == saved


@pytest.mark.parametrize("method,architecture,reads", [
    ("improved_gan", "mlp", True), ("triple_gan", "mlp", True), ("pseudo_label", "mlp", True),
    ("improved_gan", "conv", False), ("triple_gan", "conv", False), ("ssvae_m2", "mlp", False)])
def test_only_a_tanh_generator_reads_the_tanh_scale(method, architecture, reads):
    config = ssl_config.build(method=method, architecture=architecture)
    assert methods.get_class(method).generator_reads_tanh_scale(config) is reads


def test_training_from_python_shows_progress_with_an_eta(tmp_path, mnist_small_path):
    # No absl app.run here, as in a notebook: the library still shows its progress lines.
    script = ("from ssl_gen.training import train\nfrom tests.conftest import tiny_config\n"
              f"train.run(tiny_config({str(tmp_path / 'run')!r}, {mnist_small_path!r}, train_steps=6))\n")
    result = subprocess.run([sys.executable, "-c", script], env=SUBPROCESS_ENV, cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"step 6/6 \([0-9.]+ steps/s, ETA 0s\)", result.stderr), result.stderr[-2000:]


@pytest.mark.parametrize("seconds, text", [(45.2, "45s"), (750, "12m 30s"), (3900, "1h 05m")])
def test_durations_read_as_hours_minutes_and_seconds(seconds, text):
    assert trainer.format_duration(seconds) == text


def _truncate_checkpoint(run_dir, step):
    for path in glob.glob(str(run_dir / "checkpoints" / f"ckpt-{step}.data-*")):
        with open(path, "r+b") as file:
            file.truncate(os.path.getsize(path) // 2)


def test_a_broken_newest_checkpoint_falls_back_to_the_one_before(tmp_path, mnist_small_path, caplog):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=6))
    _truncate_checkpoint(run_dir, 6)
    caplog.set_level("WARNING")
    _, _, _, step = runs.restore(str(run_dir))  # what evaluate.py and export.py read
    assert step == 3 and "ckpt-6 does not read" in caplog.text
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=9))
    assert runs.restore(str(run_dir))[3] == 9


def test_no_readable_checkpoint_is_one_clear_error(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=6))
    for step in (3, 6):
        _truncate_checkpoint(run_dir, step)
    with pytest.raises(TrainingError, match="no checkpoint in .* reads .*ckpt-6.*ckpt-3"):
        train.run(tiny_config(run_dir, mnist_small_path, train_steps=9))
