"""benchmarks/generator.sh and summarize.py --table=generator: the generator row of RESULTS.md."""

import json
import os
import subprocess
import sys


from tests.conftest import ROOT, SUBPROCESS_ENV
from tests.test_cli import TINY_FLAGS as ALL_TINY_FLAGS

# The script passes its flags to every stage; pseudo_label (G's stages) has no warm-up to set.
TINY_FLAGS = [flag for flag in ALL_TINY_FLAGS if not flag.startswith("--warmup_steps")]


def _report(directory, name, **values):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w") as file:
        json.dump(values, file)


def _summarize_generator(*run_dirs, returncode=0, flags=()):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "summarize.py"),
                             "--table=generator", *flags, *map(str, run_dirs)],
                            env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == returncode, result.stderr[-2000:]
    return result


def test_generator_table_pairs_the_latent_scales_both_runs_were_judged_at(tmp_path):
    ours, reference = tmp_path / "g", tmp_path / "full"
    _report(ours, "eval.json", conditional_accuracy=0.975, fid=200.0, latent_scale=1.0)
    _report(ours, "eval_latent_scale_0.5.json", conditional_accuracy=0.995, fid=100.0, latent_scale=0.5)
    _report(ours, "eval_latent_scale_0.75.json", conditional_accuracy=0.991, fid=140.0, latent_scale=0.75)
    _report(ours, "eval_best_of_4.json", conditional_accuracy=1.0, fid=1.0, candidates=4)
    _report(reference, "eval.json", conditional_accuracy=0.97, fid=160.0, latent_scale=1.0)
    _report(reference, "eval_latent_scale_0.5.json", conditional_accuracy=0.998, fid=90.0, latent_scale=0.5)
    lines = _summarize_generator(ours, reference).stdout.strip().splitlines()
    # 0.75 has no reference report, and best-of-K is another sampler: neither is a row.
    assert lines[2:] == ["| 1 | 97.50 % | 200.0 | 160.0 | 1.25 | no |",
                         "| 0.5 | 99.50 % | 100.0 | 90.0 | 1.11 | yes |"]


def test_generator_table_of_the_best_of_k_sampler_reads_only_its_reports(tmp_path):
    ours, reference = tmp_path / "g", tmp_path / "full"
    for directory in (ours, reference):
        _report(directory, "eval_latent_scale_0.5.json", conditional_accuracy=0.9, fid=500.0, latent_scale=0.5)
        _report(directory, "eval_best_of_4.json", conditional_accuracy=0.9, fid=500.0, latent_scale=1.0)
    _report(ours, "eval_best_of_2_latent_scale_0.5.json", conditional_accuracy=0.995, fid=66.0, latent_scale=0.5)
    _report(reference, "eval_best_of_2_latent_scale_0.5.json", conditional_accuracy=0.997, fid=60.0,
            latent_scale=0.5)
    lines = _summarize_generator(ours, reference, flags=("--candidates=2",)).stdout.strip().splitlines()
    assert lines[2:] == ["| 0.5 | 99.50 % | 66.0 | 60.0 | 1.10 | yes |"]


def test_generator_table_on_the_validation_split_reads_only_its_reports(tmp_path):
    ours, reference = tmp_path / "g", tmp_path / "full"
    for directory in (ours, reference):
        _report(directory, "eval.json", conditional_accuracy=0.5, fid=500.0, latent_scale=1.0)
        _report(directory, "eval_latent_scale_0.5.json", conditional_accuracy=0.5, fid=500.0, latent_scale=0.5)
    _report(ours, "eval_latent_scale_0.5_validation.json", conditional_accuracy=0.995, fid=66.0, latent_scale=0.5)
    _report(reference, "eval_latent_scale_0.5_validation.json", conditional_accuracy=0.997, fid=60.0,
            latent_scale=0.5)
    lines = _summarize_generator(ours, reference, flags=("--split=validation",)).stdout.strip().splitlines()
    assert lines[2:] == ["| 0.5 | 99.50 % | 66.0 | 60.0 | 1.10 | yes |"]
    # And the test table leaves the validation reports out.
    lines = _summarize_generator(ours, reference).stdout.strip().splitlines()
    assert lines[2:] == ["| 1 | 50.00 % | 500.0 | 500.0 | 1.00 | no |", "| 0.5 | 50.00 % | 500.0 | 500.0 | 1.00 | no |"]


def test_generator_table_needs_generator_metrics_and_pairs_of_runs(tmp_path):
    _report(tmp_path / "g", "eval.json", test_error=0.01, latent_scale=1.0)
    _report(tmp_path / "full", "eval.json", test_error=0.01, latent_scale=1.0)
    result = _summarize_generator(tmp_path / "g", tmp_path / "full", returncode=1)
    assert "has no generator metrics" in result.stderr and "Traceback" not in result.stderr
    for odd in ([tmp_path / "g"], [tmp_path / "g", tmp_path / "full", tmp_path / "g"]):
        result = _summarize_generator(*odd, returncode=1)
        assert "takes pairs of runs" in result.stderr and f"got {len(odd)} run(s)" in result.stderr


def test_generator_table_of_several_seeds_averages_each_latent_scale(tmp_path):
    for seed, (accuracy, fid, reference_fid) in enumerate([(0.995, 100.0, 80.0), (0.985, 150.0, 100.0)]):
        _report(tmp_path / f"g{seed}", "eval_latent_scale_0.5.json", conditional_accuracy=accuracy, fid=fid,
                latent_scale=0.5)
        _report(tmp_path / f"full{seed}", "eval_latent_scale_0.5.json", conditional_accuracy=0.99,
                fid=reference_fid, latent_scale=0.5)
    # Only the first pair was judged at scale 1: that scale's mean is over one pair.
    _report(tmp_path / "g0", "eval.json", conditional_accuracy=0.97, fid=200.0, latent_scale=1.0)
    _report(tmp_path / "full0", "eval.json", conditional_accuracy=0.97, fid=200.0, latent_scale=1.0)
    lines = _summarize_generator(tmp_path / "g0", tmp_path / "full0", tmp_path / "g1", tmp_path / "full1"
                                 ).stdout.strip().splitlines()
    assert lines[2:5] == [f"| {tmp_path / 'g0'} | 1 | 97.00 % | 200.0 | 200.0 | 1.00 | no |",
                          f"| {tmp_path / 'g0'} | 0.5 | 99.50 % | 100.0 | 80.0 | 1.25 | yes |",
                          f"| {tmp_path / 'g1'} | 0.5 | 98.50 % | 150.0 | 100.0 | 1.50 | no |"]
    # Ratios 1.25 and 1.50: mean 1.375, population std 0.125.
    assert lines[-2:] == ["| 1 | 1 | 97.00 ± 0.00 % | 1.00 ± 0.00 | 0 of 1 |",
                          "| 0.5 | 2 | 99.00 ± 0.50 % | 1.38 ± 0.12 | 1 of 2 |"]


def test_generator_script_runs_every_stage(tmp_path, mnist_small_path):
    # Default run names under RUNS_ROOT, and the default mode-seeking weight (1).
    env = {**SUBPROCESS_ENV, "SSL_GEN_CACHE": str(tmp_path / "cache"), "MNIST_NPZ": mnist_small_path,
           "RUNS_ROOT": str(tmp_path), "LATENT_SCALES": "0.5"}
    env.pop("MODE_SEEKING_WEIGHT", None)
    # A one-epoch evaluator first, which the script keeps instead of training its own.
    subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "train_evaluator.py"),
                    f"--data_path={mnist_small_path}", "--epochs=1"], env=env, check=True, timeout=600)
    result = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "generator.sh"), "3", "--train_steps=4",
                             "--eval_every=2", "--log_every=2", *TINY_FLAGS],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "kept from" in result.stderr
    # A development seed: every table is on the validation split, G alone and then the best of 2, at the
    # scales asked for only (the G stages train without judging themselves).
    own, best_of_two = result.stdout.strip().split("validation split, the best of 2 draws")
    rows = own.strip().splitlines()[-2:]
    assert rows[0].startswith("|---") and rows[1].startswith("| 0.5 | ")
    assert best_of_two.strip().splitlines()[-1].startswith("| 0.5 | ")
    assert "test split" not in result.stdout
    runs = {"c": tmp_path / "mnist100_consistency_seed3", "g": tmp_path / "cgan" / "consistency_s3_w3_ms1",
            "full": tmp_path / "cgan" / "full_s3_w3_ms1"}
    configs = {name: json.load(open(run / "config.json")) for name, run in runs.items()}
    assert configs["c"]["preset"] == "consistency" and configs["c"]["seed"] == 3
    assert configs["g"]["method_settings"]["classifier_from"] == str(runs["c"]) and configs["g"]["num_labeled"] == 100
    # The reference has every training image labeled.
    assert configs["full"]["num_labeled"] == 1000 and configs["full"]["method"] == "pseudo_label"
    # The mode-seeking weight reaches G and its reference, not C's stage (whose method has no such setting).
    assert "generator_mode_seeking_weight" not in configs["c"]["method_settings"]
    assert [configs[name]["method_settings"]["generator_mode_seeking_weight"] for name in ("g", "full")] == [1.0, 1.0]
    for name in ("g", "full"):
        assert json.load(open(runs[name] / "eval_latent_scale_0.5_validation.json"))["fid"] > 0
        assert json.load(open(runs[name] / "eval_best_of_2_latent_scale_0.5_validation.json"))["candidates"] == 2
        assert not (runs[name] / "eval_validation.json").exists()
    for run in runs.values():  # a development seed never reads the test set
        assert not (run / "eval.json").exists()
    # TRAIN_CLASSIFIER=0 trains no C: the G stage takes CLASSIFIER_RUN as it is, here not a run at all.
    # Each weight names its own runs, and weight 0 the earlier tables' names.
    env.update(TRAIN_CLASSIFIER="0", CLASSIFIER_RUN=str(tmp_path / "none"))
    for weight, suffix in (("0.5", "_ms0.5"), ("0", "")):
        result = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "generator.sh"), "3",
                                 "--train_steps=4", *TINY_FLAGS], env={**env, "MODE_SEEKING_WEIGHT": weight},
                                capture_output=True, text=True, timeout=900)
        assert result.returncode != 0 and f"no config.json in {str(tmp_path / 'none')!r}" in result.stderr
        assert (f"G {tmp_path / 'cgan' / ('consistency_s3_w3' + suffix)}, reference "
                f"{tmp_path / 'cgan' / ('full_s3_w3' + suffix)}, mode-seeking weight {weight}") in result.stderr
    assert not os.path.exists(tmp_path / "none")
    # A reporting seed reads the test set only through a sampler named for it, once.
    env.update(TRAIN_CLASSIFIER="1", BEST_OF="", MODE_SEEKING_WEIGHT="1")
    env.pop("CLASSIFIER_RUN")
    reporting = {"g": tmp_path / "cgan" / "consistency_s101_w3_ms1", "full": tmp_path / "cgan" / "full_s101_w3_ms1"}
    command = ["bash", os.path.join(ROOT, "benchmarks", "generator.sh"), "101", "--train_steps=4", *TINY_FLAGS]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0 and "the test set is left unread" in result.stderr, result.stderr[-3000:]
    assert not [path for run in reporting.values() for path in run.glob("eval*.json")]
    result = subprocess.run(command, env={**env, "FINAL_LATENT_SCALE": "0.5", "FINAL_BEST_OF": "1"},
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for run in reporting.values():
        assert sorted(path.name for path in run.glob("eval*.json")) == ["eval_latent_scale_0.5.json"]
    assert "test split, the best of 1 draws" in result.stdout


def test_train_evaluator_if_missing_still_refuses_an_evaluator_of_other_data(tmp_path, mnist_small_path):
    other = tmp_path / "evaluator"
    _report(other, "metadata.json", fingerprint="0123456789abcdef", dataset="svhn")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "experiments", "train_evaluator.py"),
                             f"--data_path={mnist_small_path}", f"--output_dir={other}", "--if_missing"],
                            env=SUBPROCESS_ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "was trained on 'svhn'" in result.stderr
    assert sorted(os.listdir(other)) == ["metadata.json"]  # nothing trained over it
