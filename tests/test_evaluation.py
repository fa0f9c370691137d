import glob
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import data
from ssl_gen.training import train
from ssl_gen.data import images as image_conversion
from ssl_gen.errors import ConfigError
from ssl_gen.evaluation import classifier_metrics, generator_metrics, report
from ssl_gen.evaluation import images as sample_images
from ssl_gen.evaluation import evaluator as evaluator_lib
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def small_data(mnist_small_path):
    return data.load_npz(mnist_small_path)


@pytest.fixture(scope="module")
def tiny_evaluator(small_data, tmp_path_factory):
    return evaluator_lib.train(small_data, str(tmp_path_factory.mktemp("evaluator")), epochs=1)


def test_evaluator_round_trip_and_mismatch(small_data, tmp_path, rgb_arrays):
    trained = evaluator_lib.train(small_data, str(tmp_path), epochs=1)
    loaded = evaluator_lib.load(str(tmp_path), small_data)
    images = image_conversion.to_model_range(small_data.x_test[:50]).numpy()
    np.testing.assert_allclose(loaded.logits(images), trained.logits(images), atol=1e-5)
    assert loaded.test_accuracy == trained.test_accuracy
    other = data.from_arrays("rgb", **rgb_arrays)
    with pytest.raises(ConfigError, match="trained on 'mnist_small'"):
        evaluator_lib.load(str(tmp_path), other)
    with pytest.raises(ConfigError, match="train_evaluator.py"):
        evaluator_lib.load(str(tmp_path / "empty"), small_data)


def test_the_evaluator_computes_in_float32_inside_a_mixed_precision_run(small_data, tiny_evaluator, tmp_path):
    tiny_evaluator.net.save_weights(str(tmp_path / evaluator_lib.WEIGHTS_FILE))
    with open(tmp_path / evaluator_lib.METADATA_FILE, "w") as file:
        json.dump(tiny_evaluator.metadata, file)
    images = image_conversion.to_model_range(small_data.x_test[:50]).numpy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")  # as train.py sets it for --mixed_precision
    try:
        loaded = evaluator_lib.load(str(tmp_path), small_data)
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # the run's policy is left alone
    finally:
        keras.mixed_precision.set_global_policy("float32")
    np.testing.assert_array_equal(loaded.features(images), tiny_evaluator.features(images))


def test_conditional_accuracy_of_real_images_equals_evaluator_accuracy(small_data, tiny_evaluator):
    images = image_conversion.to_model_range(small_data.x_test).numpy()
    accuracy = generator_metrics.conditional_accuracy(tiny_evaluator, images, small_data.y_test)
    assert accuracy == pytest.approx(tiny_evaluator.test_accuracy)
    shuffled = np.random.default_rng(0).permutation(small_data.y_test)
    assert generator_metrics.conditional_accuracy(tiny_evaluator, images, shuffled) != accuracy


def test_accuracy_per_class_finds_the_class_drawn_badly():
    labels = np.array([0, 0, 1, 1, 1, 1])
    predictions = np.array([0, 0, 1, 2, 2, 1])
    assert generator_metrics.accuracy_per_class(predictions, labels, 3) == [1.0, 0.5, None]


def test_confusion_matrix_per_class_error_and_ece():
    labels = np.array([0, 0, 1, 1])
    predictions = np.array([0, 1, 1, 1])
    matrix = classifier_metrics.confusion_matrix(labels, predictions, 2)
    np.testing.assert_array_equal(matrix, [[1, 1], [0, 2]])
    assert classifier_metrics.per_class_error(matrix) == [0.5, 0.0]
    # Two bins: confidence 0.9 (both right) and 0.6 (one of two right): ECE = ½·0.1 + ½·0.1.
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.1, 0.9], [0.4, 0.6]])
    assert classifier_metrics.expected_calibration_error(probabilities, np.array([0, 0, 1, 1]), 10) == \
        pytest.approx(0.1)


def test_real_data_floor_is_near_perfect(small_data, tiny_evaluator):
    floor = generator_metrics.real_data_floor(tiny_evaluator, small_data.x_test, small_data.y_test, 10)
    assert floor["fid"] >= 0 and np.isfinite(floor["kid"])
    assert floor["diversity_ratio"] == pytest.approx(1.0, abs=0.25)


def test_the_brief_comparison_during_training_agrees_with_the_full_report(small_data, tiny_evaluator):
    images = image_conversion.to_model_range(small_data.x_test).numpy()
    half = len(images) // 2
    reference = tiny_evaluator.features(images[half:])
    args = (tiny_evaluator, images[:half], small_data.y_test[:half], reference, small_data.y_test[half:], 10)
    full, brief = generator_metrics.compare(*args), generator_metrics.compare_in_brief(*args)
    assert set(brief) == {"conditional_accuracy", "fid", "diversity_ratio"}
    for name, value in brief.items():
        assert value == pytest.approx(full[name], rel=1e-9)
    # A class with one reference image has no spread: it is left out of the ratio, not divided by zero.
    lone = small_data.y_test[half:].copy()
    lone[lone == 3] = 4
    lone[0] = 3
    assert np.isfinite(generator_metrics.compare_in_brief(*args[:4], lone, 10)["diversity_ratio"])


def test_evaluate_run_writes_the_full_report(small_data, mnist_small_path, tiny_evaluator, tmp_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3))
    evaluator_dir = tmp_path / "evaluator"
    evaluator_lib.train(small_data, str(evaluator_dir), epochs=1)
    result = report.evaluate_run(str(run_dir), evaluator_dir=str(evaluator_dir))
    saved = json.loads((run_dir / "eval.json").read_text())
    for key in ("test_error", "validation_error", "per_class_error", "ece", "conditional_accuracy", "fid", "kid",
                "kid_std", "intra_fid", "num_labeled", "evaluator", "real_data_floor", "diversity_ratio"):
        assert key in saved, key
    assert saved == json.loads(json.dumps(result))
    assert len(saved["per_class_error"]) == 10 and 0 <= saved["conditional_accuracy"] <= 1
    # Every class has as many samples, so the overall accuracy is the per-class mean.
    assert np.mean(saved["conditional_accuracy_per_class"]) == pytest.approx(saved["conditional_accuracy"])
    # An untrained generator is far from the data; the real-data floor is much closer.
    assert saved["fid"] > saved["real_data_floor"]["fid"]
    for image in ("samples_by_class", "interpolation", "nearest_neighbours", "confusion_matrix",
                  "validation_error_curve"):
        assert (run_dir / "eval" / f"{image}.png").stat().st_size > 500


def test_the_validation_report_judges_the_validation_images_and_never_the_test_set(
        small_data, mnist_small_path, tmp_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, train_steps=3, validation_size=300))
    evaluator_dir = tmp_path / "evaluator"
    evaluator_lib.train(small_data, str(evaluator_dir), epochs=1)
    validation = report.evaluate_run(str(run_dir), evaluator_dir=str(evaluator_dir), split="validation",
                                     latent_scale=0.5)
    assert json.loads((run_dir / "eval_latent_scale_0.5_validation.json").read_text())["split"] == "validation"
    assert validation["num_validation_images"] == 300 and "test_error" not in validation
    assert np.array(validation["confusion_matrix"]).sum() == 300
    # The generator is judged against as many real images: the floor compares two halves of them.
    assert validation["real_data_floor"]["fid"] > 0 and validation["fid"] > 0
    final = report.evaluate_run(str(run_dir), evaluator_dir=str(evaluator_dir), latent_scale=0.5)
    assert final["validation_error"] == pytest.approx(validation["validation_error"], abs=1e-9)
    assert np.array(final["confusion_matrix"]).sum() == len(small_data.x_test)
    # G's own report on validation reaches the run's TensorBoard; the test reports never do.
    report.evaluate_run(str(run_dir), evaluator_dir=str(evaluator_dir), split="validation")
    report.evaluate_run(str(run_dir), evaluator_dir=str(evaluator_dir))
    tags = {value.tag for path in glob.glob(str(run_dir / "tensorboard" / "events.out.tfevents.*"))
            for event in tf.compat.v1.train.summary_iterator(path) for value in event.summary.value}
    assert {"eval/fid", "eval/validation_error"} <= tags and not [tag for tag in tags if "test" in tag]


def test_a_validation_report_of_a_run_without_validation_split_is_refused(mnist_small_path, tmp_path):
    train.run(tiny_config(tmp_path, mnist_small_path, train_steps=3, validation_size=0))
    with pytest.raises(ConfigError, match="has no validation split"):
        report.evaluate_run(str(tmp_path), split="validation")


def test_training_logs_conditional_accuracy_with_an_evaluator(small_data, mnist_small_path, tmp_path):
    evaluator_dir = tmp_path / "evaluator"
    evaluator_lib.train(small_data, str(evaluator_dir), epochs=1)
    metrics = train.run(tiny_config(tmp_path / "run", mnist_small_path, train_steps=3,
                                    evaluator_dir=str(evaluator_dir)))
    assert 0.0 <= metrics["eval/conditional_accuracy"] <= 1.0
    # With a validation split G is judged against it as evaluate.py does: FID can be followed in training.
    assert metrics["eval/fid"] > 0 and metrics["eval/diversity_ratio"] > 0


def test_side_by_side_names_the_shapes_of_grids_that_cannot_stand_together():
    grids = [np.zeros((28, 56, 1), np.uint8), np.zeros((56, 56, 1), np.uint8)]
    with pytest.raises(ValueError, match=r"received \(height, channels\) \[\(28, 1\), \(56, 1\)\]"):
        sample_images.side_by_side(grids)
