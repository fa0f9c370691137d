import csv

import matplotlib.image

from ssl_gen.evaluation import plots


def _metrics(path, columns):
    rows = [{"step": step, "wall_time": 60.0 * step, **{name: 0.1 / step for name in columns}}
            for step in (1, 2, 3)]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=["step", "wall_time", *columns])
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_the_fid_curves_appear_when_a_run_logged_fid(tmp_path):
    error_only = _metrics(tmp_path / "a.csv", ["eval/validation_error"])
    with_fid = _metrics(tmp_path / "b.csv", ["eval/validation_error", "eval/fid"])
    plots.plot_validation_error([error_only], str(tmp_path / "one.png"))
    plots.plot_validation_error([error_only, with_fid], str(tmp_path / "two.png"), labels=["a", "b"])
    one, two = (matplotlib.image.imread(str(tmp_path / name)) for name in ("one.png", "two.png"))
    # One row of two panels per curve.
    assert two.shape[0] == 2 * one.shape[0] and two.shape[1] == one.shape[1]
