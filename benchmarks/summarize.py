"""Summarise finished runs for docs/RESULTS.md: one markdown row per run and the error-vs-time curve.

The runs table takes the test error from each run's eval.json (experiments/evaluate.py, the one reading
of the test set) and everything else from the validation split logged while training.

python benchmarks/summarize.py --plot=docs/images/mnist100_error_vs_time.png runs/mnist100_seed101 …
python benchmarks/summarize.py --table=joint runs/report/mnist100_joint_seed10{1,2,3}   # C and G, mean ± std
python benchmarks/summarize.py --table=curve --curve_every=4000 runs/dev/a_s1 runs/dev/b_s1
python benchmarks/summarize.py --table=rates runs/dev/a_s1 runs/dev/b_s1
python benchmarks/summarize.py --table=generator --split=validation G1 REF1 [G2 REF2 …]  # to choose a scale
python benchmarks/summarize.py --table=generator --candidates=4 G1 REF1 …   # the best-of-4 sampler's reports
"""

import glob
import json
import os

import numpy as np
from absl import app, flags

from ssl_gen import data as data_lib
from ssl_gen.training import cli, runs
from ssl_gen.training import config as config_lib
from ssl_gen.errors import ConfigError
from ssl_gen.evaluation import images as grids, plots, report as report_lib
from ssl_gen.training.metrics_log import METRICS_FILE, read_scalars

flags.DEFINE_string("plot", None, "Write the validation error (and G's FID, where logged) of all runs "
                    "against time and steps to this PNG.")
flags.DEFINE_enum("table", "runs", ["runs", "methods", "joint", "curve", "rates", "generator"],
                  "runs: time to accuracy; methods: classifier and generator metrics side by side; joint: "
                  "the reporting table of runs that train C and G together, both judged by one report, "
                  "with the mean ± std over the runs and the real-data floor; curve: "
                  "validation error (and G's FID, where logged) at every --curve_every steps, one row per "
                  "run; rates: the training speed logged every --log_every steps (TensorBoard's "
                  "perf/steps_per_second), median and 10th-90th percentile, one row per run; generator: "
                  "pairs of runs, G and the same G trained with all labels, their conditional accuracy and "
                  "FID at each latent scale both were judged at, and the FID ratio; with several pairs "
                  "(seeds), also each scale's mean ± std over them.")
flags.DEFINE_integer("curve_every", 4000, "Steps between the columns of --table=curve.", lower_bound=1)
flags.DEFINE_integer("candidates", 1, "--table=generator: read the reports of evaluate.py's best-of-K "
                     "sampler (eval_best_of_K*.json, in both runs of a pair) instead of G's own draws.",
                     lower_bound=1)
flags.DEFINE_enum("split", "test", report_lib.SPLITS, "--table=generator: read the reports on this split "
                  "(evaluate.py --split); choose settings on validation, report them on test.")

flags.DEFINE_string("grids", None, "Write G's samples of each run (evaluate.py's samples_by_class.png of "
                    "--split) side by side to this PNG, real validation images of the first run leftmost.")

VALIDATION_ERROR = "eval/validation_error"
FID = "eval/fid"


def two_sigma(error, count):
    """Two binomial standard deviations of an error rate measured on `count` images: the band within which
    two results on that set cannot be told apart."""
    return 2.0 * float(np.sqrt(error * (1.0 - error) / count))


def summarize(run_dir):
    config = config_lib.load(run_dir)
    rows = plots.read_metrics(os.path.join(run_dir, METRICS_FILE))
    last = rows[-1]
    minutes = float(last["wall_time"]) / 60.0
    report_path = os.path.join(run_dir, "eval.json")
    report = json.load(open(report_path)) if os.path.exists(report_path) else {}
    if report and report.get("step") != int(last["step"]):
        # A run trained on after its last evaluate.py (or stopped before it): the report is stale.
        print(f"{run_dir}: eval.json is from step {report.get('step')}, metrics.csv reaches "
              f"{last['step']}; using metrics.csv")
        report = {}
    validated = [row for row in rows if row.get(VALIDATION_ERROR)]
    first_below = {}
    for threshold in (0.015, 0.01):
        hit = next((row for row in validated if float(row[VALIDATION_ERROR]) <= threshold), None)
        first_below[threshold] = f"{float(hit['wall_time']) / 60:.0f} min" if hit else "—"
    return {"run": os.path.basename(os.path.normpath(run_dir)), "seed": config.seed, "method": config.method,
            "kid": report.get("kid"), "kid_std": report.get("kid_std"),
            "labels": config.num_labeled, "steps": int(last["step"]),
            "minutes": minutes, "steps_per_second": int(last["step"]) / (60.0 * minutes),
            "validation_error": float(validated[-1][VALIDATION_ERROR]) if validated else None,
            "test_error": report.get("test_error"), "num_test_images": report.get("num_test_images"),
            "conditional_accuracy": report.get("conditional_accuracy"), "fid": report.get("fid"),
            "intra_fid": report.get("intra_fid"), "diversity_ratio": report.get("diversity_ratio"),
            "real_data_floor": report.get("real_data_floor"),
            "below_1.5%": first_below[0.015], "below_1.0%": first_below[0.01]}


def _print_runs(summaries):
    print("| run | labels | seed | steps | wall time | steps/s | validation error | test error | "
          "validation ≤1.5 % at | ≤1.0 % at |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        print(f"| {s['run']} | {s['labels']} | {s['seed']} | {s['steps']} | {s['minutes']:.0f} min | "
              f"{s['steps_per_second']:.1f} | {_number(s['validation_error'], 100, 2, ' %')} | "
              f"{_number(s['test_error'], 100, 2, ' %')} | {s['below_1.5%']} | {s['below_1.0%']} |")


def _print_means(summaries):
    for name in ("validation_error", "test_error"):
        errors = np.array([s[name] for s in summaries if s[name] is not None])
        if not errors.size:
            continue
        line = (f"mean ± std {name.replace('_', ' ')} over {errors.size} run(s): {100 * errors.mean():.2f} ± "
                f"{100 * errors.std():.2f} %")
        counts = [s["num_test_images"] for s in summaries if s["num_test_images"]]
        if name == "test_error" and counts:
            line += (f"; one run's ±2σ on {counts[0]:,} test images at this error: "
                     f"±{100 * two_sigma(errors.mean(), counts[0]):.2f} points")
        print(line)


def _number(value, scale=1.0, digits=1, suffix=""):
    return "—" if value is None else f"{scale * value:.{digits}f}{suffix}"


def _print_methods(summaries):
    print("| method | run | seed | steps | wall time | steps/s | test error | conditional accuracy | FID | KID |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        kid = "—" if s["kid"] is None else f"{s['kid']:.1f} ± {s['kid_std']:.1f}"
        print(f"| `{s['method']}` | {s['run']} | {s['seed']} | {s['steps']} | {s['minutes']:.0f} min | "
              f"{s['steps_per_second']:.1f} | {_number(s['test_error'], 100, 2, ' %')} | "
              f"{_number(s['conditional_accuracy'], 100, 1, ' %')} | {_number(s['fid'])} | {kid} |")


_JOINT_COLUMNS = (("validation_error", 100, 2, " %"), ("test_error", 100, 2, " %"),
                  ("conditional_accuracy", 100, 2, " %"), ("fid", 1, 1, ""), ("intra_fid", 1, 1, ""),
                  ("diversity_ratio", 1, 3, ""))


def _mean_and_std(values, scale, digits, suffix):
    values = scale * np.array(values, dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}{suffix}"


def _print_joint(summaries):
    """One row per run, then the mean ± population std of every column over the runs that have it, then
    real test images judged like G's samples (the first report's floor)."""
    print("| run | step | wall time | validation error | test error | conditional accuracy | FID | "
          "intra-class FID | diversity ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        cells = [_number(s[name], scale, digits, suffix) for name, scale, digits, suffix in _JOINT_COLUMNS]
        print(f"| {s['run']} | {s['steps']:,} | {s['minutes']:.0f} min | " + " | ".join(cells) + " |")
    if len(summaries) > 1:
        cells = []
        for name, scale, digits, suffix in _JOINT_COLUMNS:
            values = [s[name] for s in summaries if s[name] is not None]
            cells.append(_mean_and_std(values, scale, digits, suffix) if values else "—")
        print(f"| mean ± std over {len(summaries)} runs | | | " + " | ".join(cells) + " |")
    floor = next((s["real_data_floor"] for s in summaries if s["real_data_floor"]), None)
    if floor:
        cells = [_number(floor.get(name), scale, digits, suffix) for name, scale, digits, suffix
                 in _JOINT_COLUMNS[2:]]
        print("| real test images: one random half against the other (the floor) | | | | | "
              + " | ".join(cells) + " |")


def _print_curve(run_dirs, every):
    """Validation error (%) of each run at the evaluations whose step is a multiple of `every`, and G's
    FID on validation where the run logged it, for comparing runs step by step (a run resumed several
    times has one row per evaluation in metrics.csv)."""
    names = run_names(run_dirs)
    lines = {}
    for run_dir in run_dirs:
        rows = [row for row in plots.read_metrics(os.path.join(run_dir, METRICS_FILE))
                if int(row["step"]) % every == 0]
        for column, label, scale, digits in ((VALIDATION_ERROR, "(%)", 100, 2), (FID, "FID", 1, 1)):
            values = {int(row["step"]): f"{scale * float(row[column]):.{digits}f}" for row in rows if row.get(column)}
            if values or column == VALIDATION_ERROR:
                lines[f"{names[run_dir]} {label}"] = values
    steps = sorted(set().union(*lines.values()))
    print("| step (k) | " + " | ".join(f"{step / 1000:g}" for step in steps) + " |")
    print("|---|" + "---|" * len(steps))
    for name, by_step in lines.items():
        print(f"| {name} | " + " | ".join(by_step.get(step, "") for step in steps) + " |")


def run_names(run_dirs):
    """Each run's directory name, with its parent's where two runs share one (runs/a/s1, runs/b/s1)."""
    bases = [os.path.basename(os.path.normpath(run_dir)) for run_dir in run_dirs]
    return {run_dir: base if bases.count(base) == 1 else
            os.path.join(os.path.basename(os.path.dirname(os.path.normpath(run_dir))), base)
            for run_dir, base in zip(run_dirs, bases)}


def _print_rates(run_dirs):
    """Steps/s between log lines, which exclude evaluation and checkpoint time; a CPU shared with other
    jobs shows as a lower median or a wide spread, so the table is for stating conditions, not speeds."""
    print("| run | readings | steps/s median | 10th-90th percentile |")
    print("|---|---|---|---|")
    names = run_names(run_dirs)
    for run_dir in run_dirs:
        rates = np.array(list(read_scalars(run_dir, "perf/steps_per_second").values()))
        name = names[run_dir]
        if rates.size == 0:
            print(f"| {name} | 0 | — | — |")
            continue
        low, high = np.percentile(rates, [10, 90])
        print(f"| {name} | {rates.size} | {np.median(rates):.1f} | {low:.1f}-{high:.1f} |")


# The generator targets at 100 labels.
CONDITIONAL_ACCURACY_TARGET = 0.99
FID_RATIO_TARGET = 1.25


def generator_rows(run_dir, reference_dir, candidates=1, split="test"):
    """[{latent_scale, conditional_accuracy, fid, reference_fid, fid_ratio, meets_both}] for each latent
    scale (G's own draws are 1) with a report on `split` in both runs, of the best-of-`candidates` sampler
    (1: G's own draws); the reports of other samplers and splits are left out."""
    prefix = report_lib.report_name(candidates)
    suffix = report_lib.report_name(split=split)[len("eval"):]

    def reports(directory):
        found = {}
        shrunk = glob.glob(os.path.join(directory, f"{prefix}_latent_scale_*{suffix}.json"))
        if not suffix:  # the test reports' names are the validation ones' prefixes
            shrunk = [path for path in shrunk if not path.endswith("_validation.json")]
        for path in [os.path.join(directory, prefix + suffix + ".json")] + shrunk:
            if os.path.exists(path):
                report = json.load(open(path))
                if "fid" not in report:
                    raise ConfigError(f"{path} has no generator metrics: evaluate with the data set's evaluator")
                found[float(report.get("latent_scale", 1.0))] = report
        return found

    ours, reference = reports(run_dir), reports(reference_dir)
    rows = []
    for scale in sorted(set(ours) & set(reference), reverse=True):
        accuracy, fid = ours[scale]["conditional_accuracy"], ours[scale]["fid"]
        ratio = fid / reference[scale]["fid"]
        rows.append({"latent_scale": scale, "conditional_accuracy": accuracy, "fid": fid,
                     "reference_fid": reference[scale]["fid"], "fid_ratio": ratio,
                     "meets_both": accuracy >= CONDITIONAL_ACCURACY_TARGET and ratio <= FID_RATIO_TARGET})
    return rows


def _print_generator(run_dirs):
    if len(run_dirs) < 2 or len(run_dirs) % 2:
        raise app.UsageError("--table=generator takes pairs of runs, each G then its all-labels reference "
                             f"(G1 REF1 [G2 REF2 …]); got {len(run_dirs)} run(s)")
    pairs = list(zip(run_dirs[::2], run_dirs[1::2]))
    several = len(pairs) > 1
    print(("| G |" if several else "|") +
          " latent scale | conditional accuracy | FID | reference FID | FID ratio | ≥ 99 % and ≤ 1.25× |")
    print("|---" * (7 if several else 6) + "|")
    rows_by_scale = {}
    for run_dir, reference_dir in pairs:
        for row in generator_rows(run_dir, reference_dir, flags.FLAGS.candidates, flags.FLAGS.split):
            rows_by_scale.setdefault(row["latent_scale"], []).append(row)
            print((f"| {run_dir} |" if several else "|") +
                  f" {row['latent_scale']:g} | {100 * row['conditional_accuracy']:.2f} % | {row['fid']:.1f} | "
                  f"{row['reference_fid']:.1f} | {row['fid_ratio']:.2f} | {'yes' if row['meets_both'] else 'no'} |")
    if several:
        _print_generator_means(rows_by_scale)


def _print_generator_means(rows_by_scale):
    """Per latent scale, over the pairs judged at it: mean ± population std, and how many meet both."""
    print("\n| latent scale | pairs | conditional accuracy | FID ratio | pairs meeting both |")
    print("|---|---|---|---|---|")
    for scale in sorted(rows_by_scale, reverse=True):
        rows = rows_by_scale[scale]
        accuracy = 100 * np.array([row["conditional_accuracy"] for row in rows])
        ratio = np.array([row["fid_ratio"] for row in rows])
        met = sum(row["meets_both"] for row in rows)
        print(f"| {scale:g} | {len(rows)} | {accuracy.mean():.2f} ± {accuracy.std():.2f} % | "
              f"{ratio.mean():.2f} ± {ratio.std():.2f} | {met} of {len(rows)} |")


def write_grids(run_dirs, path, split="test"):
    """Real validation images (the first run's), then each run's class grid from evaluate.py, in order."""
    folder = report_lib.report_name(split=split)
    panels = []
    for run_dir in run_dirs:
        png = os.path.join(run_dir, folder, "samples_by_class.png")
        if not os.path.exists(png):
            raise ConfigError(f"no {png}: run python experiments/evaluate.py --output_dir={run_dir} "
                              f"--split={split} first")
        panels.append(grids.read_png(png))
    config = config_lib.load(run_dirs[0])
    data = runs.load_data(config)
    held_out = data_lib.load_validation(run_dirs[0])
    per_class = panels[0].shape[1] // data.spec.image_shape[1]
    real = grids.real_class_grid(data.x_train[held_out], data.y_train[held_out], data.spec.num_classes,
                                 per_class)
    grids.save_png(path, grids.side_by_side([real] + panels))


def main(argv):
    run_dirs = argv[1:]
    if flags.FLAGS.grids:
        write_grids(run_dirs, flags.FLAGS.grids, flags.FLAGS.split)
        print(f"wrote {flags.FLAGS.grids}: real validation images, then {', '.join(run_names(run_dirs).values())}")
        return
    if flags.FLAGS.table == "generator":
        _print_generator(run_dirs)
        return
    if flags.FLAGS.table == "curve":
        _print_curve(run_dirs, flags.FLAGS.curve_every)
        return
    if flags.FLAGS.table == "rates":
        _print_rates(run_dirs)
        return
    names = run_names(run_dirs)  # one summary per argument, in order: the plot pairs them with run_dirs
    summaries = [dict(summarize(run_dir), run=names[run_dir]) for run_dir in run_dirs]
    if flags.FLAGS.table == "methods":
        _print_methods(summaries)
    elif flags.FLAGS.table == "joint":
        _print_joint(summaries)
    else:
        _print_runs(summaries)
        print()
        _print_means(summaries)
    if flags.FLAGS.plot:
        plots.plot_validation_error([os.path.join(d, METRICS_FILE) for d in run_dirs], flags.FLAGS.plot,
                              labels=[s["run"] for s in summaries])


if __name__ == "__main__":
    app.run(cli.reporting_user_errors(main))
