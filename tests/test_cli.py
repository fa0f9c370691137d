"""The scripts as a user runs them, in subprocesses."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.training import runs
from tests.conftest import ROOT, SUBPROCESS_ENV

# The default method and networks, small: the MLP C and complement G, the conditional conv G and D.
TINY_FLAGS = ["--classifier_units=64,32", "--discriminator_units=64,32", "--generator_units=32",
              "--generator_channels=16,8,4", "--discriminator_channels=8,16", "--latent_dim=16",
              "--batch_size=50", "--warmup_steps=20", "--ema_decay=0.9", "--lr_warmup_steps=0"]


def _run(script, *flags, returncode=0):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", script), *flags],
                            capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env=SUBPROCESS_ENV)
    assert result.returncode == returncode, result.stderr[-3000:]
    return result


def test_train_evaluate_export_and_evaluate_the_export_end_to_end(tmp_path, mnist_small_path):
    run_dir, evaluator_dir = str(tmp_path / "run"), str(tmp_path / "evaluator")
    common = [f"--data_path={mnist_small_path}", f"--output_dir={run_dir}", "--num_labeled=100"]
    _run("train_evaluator.py", f"--data_path={mnist_small_path}", f"--output_dir={evaluator_dir}",
         "--epochs=1")
    train = _run("train.py", *common, "--train_steps=60", "--eval_every=30", "--log_every=20",
                 f"--evaluator_dir={evaluator_dir}", *TINY_FLAGS)
    assert "steps/s" in train.stderr
    evaluation = _run("evaluate.py", f"--output_dir={run_dir}", f"--evaluator_dir={evaluator_dir}")
    report = json.loads(open(os.path.join(run_dir, "eval.json")).read())
    printed = json.loads(evaluation.stdout)
    assert printed == {key: value for key, value in report.items() if key != "confusion_matrix"}
    assert report["num_labeled"] == 100 and report["step"] == 60
    assert np.array(report["confusion_matrix"]).sum() == 500
    # 100 labels and 60 small steps already beat chance (90 % error) by a wide margin.
    assert 0.0 <= report["test_error"] < 0.6
    assert report["num_validation_images"] == 100 and 0.0 <= report["validation_error"] < 0.6
    for image in ("samples_by_class.png", "validation_error_curve.png", "confusion_matrix.png"):
        assert os.path.getsize(os.path.join(run_dir, "eval", image)) > 1000
    # Settings are chosen on the validation split: the same suite, without reading the test set.
    _run("evaluate.py", f"--output_dir={run_dir}", f"--evaluator_dir={evaluator_dir}", "--split=validation")
    validation = json.loads(open(os.path.join(run_dir, "eval_validation.json")).read())
    assert validation["split"] == "validation" and "test_error" not in validation
    assert validation["validation_error"] == pytest.approx(report["validation_error"], abs=1e-9)
    assert np.array(validation["confusion_matrix"]).sum() == 100 and validation["fid"] > 0
    # G alone with shrunk latents: a report of its own beside eval.json, which it leaves alone.
    _run("evaluate.py", f"--output_dir={run_dir}", f"--evaluator_dir={evaluator_dir}", "--latent_scale=0.5")
    shrunk = json.loads(open(os.path.join(run_dir, "eval_latent_scale_0.5.json")).read())
    assert (shrunk["latent_scale"], shrunk["test_error"]) == (0.5, report["test_error"])
    assert json.loads(open(os.path.join(run_dir, "eval.json")).read()) == report

    # The exported model is judged by the same pipeline, to the same numbers.
    export_dir = str(tmp_path / "export")
    _run("export.py", f"--output_dir={run_dir}", f"--export_dir={export_dir}")
    _run("evaluate.py", f"--saved_model={export_dir}", f"--evaluator_dir={evaluator_dir}")
    exported = json.loads(open(os.path.join(export_dir, "eval.json")).read())
    for key in ("test_error", "validation_error", "conditional_accuracy", "per_class_error", "num_labeled",
                "step"):
        assert exported[key] == pytest.approx(report[key], abs=1e-6), key
    assert exported["fid"] == pytest.approx(report["fid"], rel=1e-3)


def test_evaluate_without_an_evaluator(tmp_path, mnist_small_path):
    run_dir = str(tmp_path / "run")
    _run("train.py", f"--data_path={mnist_small_path}", f"--output_dir={run_dir}", "--num_labeled=20",
         "--train_steps=2", "--eval_every=2", *TINY_FLAGS)
    # No cached evaluator: the classifier is still judged, and the log says how to get the rest.
    result = _run("evaluate.py", f"--output_dir={run_dir}")
    assert "experiments/train_evaluator.py" in result.stderr
    report = json.loads(open(os.path.join(run_dir, "eval.json")).read())
    assert report["num_labeled"] == 20 and 0 <= report["test_error"] <= 1 and report["evaluator"] is None
    assert "fid" not in report
    # An evaluator asked for by name must exist.
    result = _run("evaluate.py", f"--output_dir={run_dir}", f"--evaluator_dir={tmp_path / 'none'}",
                  returncode=1)
    assert "experiments/train_evaluator.py" in result.stderr


@pytest.mark.parametrize("script,expected", [
    ("train.py", ["--data_path", "--num_labeled", "--train_steps", "--epochs", "--batch_size", "--seed",
                  "--learning_rate", "--eval_every", "--checkpoint_every", "--jit_compile",
                  "--[no]mixed_precision", "--validation_size"]),
    ("evaluate.py", ["--output_dir", "--data_path", "--candidates", "--latent_scale", "--split"]),
])
def test_help_lists_flags_with_help_text(script, expected):
    result = _run(script, "--help", returncode=1)  # absl exits with 1 after printing help.
    text = " ".join(result.stdout.split())  # absl wraps help text.
    for flag in expected:
        assert flag + ":" in text
    if script == "train.py":
        assert "--num_labeled: Labeled training images in total, balanced per class." in text


def test_a_bad_value_ends_the_script_with_its_message_not_a_traceback(tmp_path, mnist_small_path):
    result = _run("train.py", f"--data_path={mnist_small_path}", f"--output_dir={tmp_path / 'run'}",
                  "--num_labeled=25", *TINY_FLAGS, returncode=1)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("ConfigError: num_labeled=25")


def test_train_without_output_dir_fails_clearly():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "train.py")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0
    assert "output_dir" in result.stderr


def test_export_loads_with_tensorflow_alone_and_matches_the_library(tmp_path, mnist_small_path):
    run_dir, export_dir = str(tmp_path / "run"), str(tmp_path / "export")
    _run("train.py", f"--data_path={mnist_small_path}", f"--output_dir={run_dir}", "--num_labeled=20",
         "--train_steps=4", "--eval_every=4", *TINY_FLAGS)
    _run("export.py", f"--output_dir={run_dir}", f"--export_dir={export_dir}")
    metadata = json.loads(open(os.path.join(export_dir, "assets", "metadata.json")).read())
    assert metadata["num_labeled"] == 20 and metadata["image_shape"] == [28, 28, 1]
    assert metadata["dataset"] == "mnist_small" and metadata["num_classes"] == 10

    _, data, method, _ = runs.restore(run_dir)
    images = data.x_test[:16].astype(np.float32) / 255.0
    expected_labels = np.argmax(method.classify(tf.constant(images * 2.0 - 1.0)).numpy(), axis=1)
    expected_images = (method.generate(tf.constant([0, 3, 9]), method.sample_latents(3, 7)).numpy() + 1) / 2
    np.save(tmp_path / "images.npy", images)
    script = f"""
import sys, numpy as np, tensorflow as tf
model = tf.saved_model.load({export_dir!r})
out = model.signatures["classify"](images=tf.constant(np.load({str(tmp_path / 'images.npy')!r})))
gen = model.signatures["generate"](labels=tf.constant([0, 3, 9], tf.int32), seed=tf.constant(7))
again = model.signatures["generate"](labels=tf.constant([0, 3, 9], tf.int32), seed=tf.constant(7))
assert "ssl_gen" not in sys.modules
# uint8 images are accepted by their own signature; mistakes fail inside the SavedModel with a message.
as_uint8 = model.signatures["classify_uint8"](images=tf.constant(np.round(np.load({str(tmp_path / 'images.npy')!r}) * 255).astype(np.uint8)))
assert np.array_equal(as_uint8["labels"].numpy(), out["labels"].numpy())
for call, fragment in [(lambda: model.signatures["generate"](labels=tf.constant([3, 10]), seed=tf.constant(0)),
                        "labels must be class indices 0..9"),
                       (lambda: model.signatures["generate"](labels=tf.constant([-1]), seed=tf.constant(0)),
                        "labels must be class indices 0..9"),
                       (lambda: model.signatures["classify"](images=tf.constant(np.load({str(tmp_path / 'images.npy')!r}) * 255)),
                        "received values above 1")]:
    try:
        call()
    except tf.errors.InvalidArgumentError as error:
        assert fragment in str(error), str(error)[:500]
    else:
        raise AssertionError(fragment + ": no error")
np.save({str(tmp_path / 'labels.npy')!r}, out["labels"].numpy())
np.save({str(tmp_path / 'generated.npy')!r}, gen["images"].numpy())
assert np.array_equal(gen["images"].numpy(), again["images"].numpy())
assert out["probabilities"].shape == (16, 10) and out["labels"].dtype == tf.int64
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=str(tmp_path), env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "labels.npy"), expected_labels)
    # An existing export is replaced only when asked, and a file is never taken for a directory.
    refused = _run("export.py", f"--output_dir={run_dir}", f"--export_dir={export_dir}", returncode=1)
    assert "already holds files" in refused.stderr and "Traceback" not in refused.stderr
    _run("export.py", f"--output_dir={run_dir}", f"--export_dir={export_dir}", "--overwrite")
    (tmp_path / "a_file").write_text("")
    refused = _run("export.py", f"--output_dir={run_dir}", f"--export_dir={tmp_path / 'a_file'}", returncode=1)
    assert "is a file, not a directory" in refused.stderr
    # The export records the validation error and split; judging the test set is evaluate.py's job.
    validation = np.load(os.path.join(run_dir, "validation_indices.npy"))
    assert metadata["validation_indices"] == validation.tolist() and "test_error" not in metadata
    predictions = np.argmax(method.classify(tf.constant(data.x_train[validation] / 127.5 - 1.0, tf.float32)),
                            axis=1)
    assert metadata["validation_error"] == pytest.approx(np.mean(predictions != data.y_train[validation]))
    np.testing.assert_allclose(np.load(tmp_path / "generated.npy"), expected_images, atol=1e-5)
