"""Every registered method through the shared pieces: train, resume-safe outputs, export, evaluation."""

import json

import numpy as np
import pytest

from ssl_gen import data, export, methods
from ssl_gen.training import train
from ssl_gen.evaluation import evaluator as evaluator_lib
from ssl_gen.evaluation import report
from tests.conftest import tiny_config

REPORT_KEYS = ("test_error", "per_class_error", "ece", "conditional_accuracy", "fid", "kid", "intra_fid")


@pytest.fixture(scope="module")
def tiny_evaluator_dir(mnist_small_path, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("evaluator"))
    evaluator_lib.train(data.load_npz(mnist_small_path), directory, epochs=1)
    return directory


# The joint preset's networks: the conv G with class-conditional batch norm and the projection D.
CONDITIONAL_CONV = dict(architecture="conditional_conv", generator_channels=(16, 8, 4),
                        discriminator_channels=(8, 16))
CASES = [(name, {}) for name in sorted(methods.METHODS)] + [("joint", CONDITIONAL_CONV)]


@pytest.mark.parametrize("name, networks", CASES, ids=[f"{name}{'-conditional_conv' if nets else ''}"
                                                       for name, nets in CASES])
def test_method_trains_exports_and_passes_the_shared_evaluation(name, networks, mnist_small_path,
                                                                tiny_evaluator_dir, tmp_path):
    run_dir, export_dir = tmp_path / "run", str(tmp_path / "export")
    metrics = train.run(tiny_config(run_dir, mnist_small_path, method=name, train_steps=4, eval_every=4,
                                    evaluator_dir=tiny_evaluator_dir, **networks))
    assert 0.0 <= metrics["eval/validation_error"] <= 1.0
    assert 0.0 <= metrics["eval/conditional_accuracy"] <= 1.0
    assert (run_dir / "samples" / "step_000004.png").exists()

    from_run = report.evaluate_run(str(run_dir), evaluator_dir=tiny_evaluator_dir)
    metadata = export.export_run(str(run_dir), export_dir)
    from_export = report.evaluate_saved_model(export_dir, evaluator_dir=tiny_evaluator_dir)
    assert from_run["method"] == from_export["method"] == metadata["method"] == name
    for key in REPORT_KEYS:
        assert np.all(np.isfinite(from_run[key])), key
    # The SavedModel is the same model: same predictions, same generator (FID within float noise).
    assert from_export["test_error"] == pytest.approx(from_run["test_error"], abs=1e-6)
    assert from_export["validation_error"] == pytest.approx(from_run["validation_error"], abs=1e-6)
    assert metadata["validation_error"] == pytest.approx(from_run["validation_error"], abs=1e-6)
    assert from_export["fid"] == pytest.approx(from_run["fid"], rel=1e-3)
    assert json.loads((run_dir / "eval.json").read_text())["step"] == 4
