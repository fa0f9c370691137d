"""benchmarks/summarize.py: RESULTS.md rows come from a run's files, never from a stale report; the test
error only from evaluate.py's report."""

import csv
import json
import os
import subprocess
import sys

import numpy as np

from ssl_gen.data import split
from ssl_gen.evaluation import images
from ssl_gen.training import metrics_log
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def _fake_run(run_dir, last_step, report_step, fids=None, report=None):
    os.makedirs(run_dir)
    with open(run_dir / "config.json", "w") as file:
        file.write(tiny_config(run_dir, "unused.npz").to_json())
    with open(run_dir / "metrics.csv", "w", newline="") as file:
        writer = csv.writer(file)
        rows = [[last_step // 2, 60.0, 0.05], [last_step, 120.0, 0.0178]]
        if fids:
            rows = [row + [fid] for row, fid in zip(rows, fids)]
        writer.writerow(["step", "wall_time", "eval/validation_error"] + (["eval/fid"] if fids else []))
        writer.writerows(rows)
    with open(run_dir / "eval.json", "w") as file:
        json.dump({"test_error": 0.0348, "num_test_images": 10000, "step": report_step, **(report or {})}, file)


def _summarize(*run_dirs, flags=()):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "summarize.py"), *flags,
                             *map(str, run_dirs)],
                            env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_report_older_than_the_metrics_is_not_used(tmp_path):
    _fake_run(tmp_path / "stale", last_step=400, report_step=200)
    output = _summarize(tmp_path / "stale")
    assert "eval.json is from step 200, metrics.csv reaches 400" in output
    # The validation error is the metrics' own; no test error is shown without a current report.
    assert "| 400 | 2 min | 3.3 | 1.78 % | — |" in output


def test_a_report_of_the_last_step_is_used(tmp_path):
    _fake_run(tmp_path / "current", last_step=400, report_step=400)
    output = _summarize(tmp_path / "current")
    assert "| 400 | 2 min | 3.3 | 1.78 % | 3.48 % |" in output and "eval.json is from step" not in output
    # 2·sqrt(0.0348 · 0.9652 / 10,000) = 0.37 points.
    assert "mean ± std test error over 1 run(s): 3.48 ± 0.00 %; one run's ±2σ on 10,000 test images at this " \
           "error: ±0.37 points" in output


def test_joint_table_gives_c_and_g_per_run_their_mean_and_std_and_the_real_floor(tmp_path):
    floor = {"conditional_accuracy": 0.995, "fid": 3.45, "intra_fid": 2.77, "diversity_ratio": 1.005}
    _fake_run(tmp_path / "a", last_step=400, report_step=400,
              report={"conditional_accuracy": 0.99, "fid": 4.0, "intra_fid": 11.0, "diversity_ratio": 0.94,
                      "real_data_floor": floor})
    _fake_run(tmp_path / "b", last_step=400, report_step=400,
              report={"conditional_accuracy": 0.98, "fid": 6.0, "intra_fid": 13.0, "diversity_ratio": 0.96,
                      "real_data_floor": floor})
    lines = _summarize(tmp_path / "a", tmp_path / "b", flags=("--table=joint",)).strip().splitlines()
    assert lines[2] == "| a | 400 | 2 min | 1.78 % | 3.48 % | 99.00 % | 4.0 | 11.0 | 0.940 |"
    assert lines[4] == ("| mean ± std over 2 runs | | | 1.78 ± 0.00 % | 3.48 ± 0.00 % | 98.50 ± 0.50 % | "
                        "5.0 ± 1.0 | 12.0 ± 1.0 | 0.950 ± 0.010 |")
    assert lines[5] == ("| real test images: one random half against the other (the floor) | | | | | 99.50 % | "
                        "3.5 | 2.8 | 1.005 |")


def test_curve_table_has_one_row_per_run_and_blanks_where_a_run_did_not_reach(tmp_path):
    _fake_run(tmp_path / "long", last_step=800, report_step=800)
    _fake_run(tmp_path / "short", last_step=400, report_step=400)
    output = _summarize(tmp_path / "long", tmp_path / "short", flags=("--table=curve", "--curve_every=400"))
    lines = output.strip().splitlines()
    assert lines[0] == "| step (k) | 0.4 | 0.8 |"
    assert lines[2] == "| long (%) | 5.00 | 1.78 |"
    assert lines[3] == "| short (%) | 1.78 |  |"


def test_curve_table_adds_the_fid_of_runs_that_logged_it(tmp_path):
    _fake_run(tmp_path / "joint", last_step=800, report_step=800, fids=[40.25, 6.5])
    _fake_run(tmp_path / "classifier", last_step=800, report_step=800)
    lines = _summarize(tmp_path / "joint", tmp_path / "classifier",
                       flags=("--table=curve", "--curve_every=400")).strip().splitlines()
    assert lines[2:] == ["| joint (%) | 5.00 | 1.78 |", "| joint FID | 40.2 | 6.5 |",
                         "| classifier (%) | 5.00 | 1.78 |"]


def test_rates_table_reads_tensorboard_and_a_resume_overrides_the_steps_it_repeats(tmp_path):
    run_dir = tmp_path / "resumed"
    first = metrics_log.TensorBoard(str(run_dir))
    for step, rate in ((100, 10.0), (200, 10.0), (300, 1.0)):
        first.scalars(step, {"perf/steps_per_second": rate, "loss/classifier": 0.5})
    # The resumed process repeats step 300 (its checkpoint was at 200) at its own speed.
    second = metrics_log.TensorBoard(str(run_dir))
    for step, rate in ((300, 20.0), (400, 20.0), (500, 20.0)):
        second.scalars(step, {"perf/steps_per_second": rate})
    assert metrics_log.read_scalars(str(run_dir), "perf/steps_per_second") == {
        100: 10.0, 200: 10.0, 300: 20.0, 400: 20.0, 500: 20.0}
    lines = _summarize(run_dir, flags=("--table=rates",)).strip().splitlines()
    assert lines[-1] == "| resumed | 5 | 20.0 | 10.0-20.0 |"


def test_runs_sharing_a_directory_name_are_told_apart_by_their_parent(tmp_path):
    for parent in ("alone", "native"):
        _fake_run(tmp_path / parent / "s1", last_step=2000, report_step=2000)
    _fake_run(tmp_path / "other" / "s2", last_step=2000, report_step=2000)
    table = _summarize(tmp_path / "alone" / "s1", tmp_path / "native" / "s1", tmp_path / "other" / "s2",
                       flags=["--table=curve", "--curve_every=1000"])
    names = [line.split(" (%)")[0].lstrip("| ") for line in table.splitlines() if "(%)" in line]
    assert names == ["alone/s1", "native/s1", "s2"]


def test_grids_put_real_validation_images_left_of_each_runs_samples_and_name_a_missing_grid(tmp_path,
                                                                                          mnist_small_path):
    runs = []
    for name, shade in (("a", 100), ("b", 200)):  # one flat grey per run, so each panel is recognisable
        run_dir = tmp_path / name
        os.makedirs(run_dir / "eval")
        with open(run_dir / "config.json", "w") as file:
            file.write(tiny_config(run_dir, mnist_small_path).to_json())
        np.save(run_dir / split.VALIDATION_FILE, np.arange(500, 1000))
        images.save_png(str(run_dir / "eval" / "samples_by_class.png"), np.full((280, 140, 1), shade, np.uint8))
        runs.append(run_dir)
    out = tmp_path / "grids.png"
    output = _summarize(*runs, flags=(f"--grids={out}",))
    assert "real validation images, then a, b" in output
    picture = images.read_png(str(out))
    assert picture.shape == (280, 3 * 140 + 2 * 4, 1)
    with np.load(mnist_small_path) as mnist:  # the real panel's first row: five of the run's 500 held-out zeros
        zeros = mnist["x_train"][500:1000][mnist["y_train"][500:1000] == 0]
    first = picture[:28, :28, 0]
    assert any(np.array_equal(first, zero) for zero in zeros)
    assert np.all(picture[:, 144:284] == 100) and np.all(picture[:, 288:] == 200)
    os.remove(runs[1] / "eval" / "samples_by_class.png")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "summarize.py"), f"--grids={out}",
                             *map(str, runs)], env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "samples_by_class.png: run python experiments/evaluate.py" in result.stderr
