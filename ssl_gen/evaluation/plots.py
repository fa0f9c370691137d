"""Curves from metrics.csv: validation error and G's FID against wall time and against steps."""

import csv

import numpy as np

import matplotlib

matplotlib.use("Agg")  # Headless: runs write PNGs, they never open windows.
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FormatStrFormatter  # noqa: E402


def read_metrics(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# (metrics.csv column, axis label, scale to the plotted unit): the curves a run can have.
CURVES = (("eval/validation_error", "validation error (%)", 100.0),
          ("eval/fid", "G's FID on validation", 1.0))


def plot_validation_error(metrics_paths, output_path, labels=None):
    """One line per run, against wall-clock minutes and against steps, log scale: validation error and,
    in a second row when any run logged it, G's FID on the validation images."""
    runs = [read_metrics(path) for path in metrics_paths]
    curves = [curve for curve in CURVES if any(row.get(curve[0]) for rows in runs for row in rows)]
    figure, axes = plt.subplots(len(curves), 2, figsize=(10, 4 * len(curves)), squeeze=False)
    for (column, ylabel, scale), row_axes in zip(curves, axes):
        for index, rows in enumerate(runs):
            rows = [row for row in rows if row.get(column)]
            values = [scale * float(row[column]) for row in rows]
            label = labels[index] if labels else metrics_paths[index]
            row_axes[0].plot([float(row["wall_time"]) / 60.0 for row in rows], values, label=label)
            row_axes[1].plot([int(row["step"]) for row in rows], values, label=label)
        for ax, xlabel in zip(row_axes, ("wall time (minutes)", "training step")):
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_yscale("log")
            # Plain numbers (0.8, 1, 2) on the log axis, not matplotlib's default 8 × 10^-1.
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
            ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(output_path, dpi=100)
    plt.close(figure)


def plot_confusion_matrix(matrix, output_path):
    """Row-normalised confusion matrix with counts written in each cell."""
    matrix = np.asarray(matrix)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.5 * len(matrix))
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            axes.text(col, row, str(count), ha="center", va="center", fontsize=7,
                      color="white" if normalised[row, col] > 0.5 else "black")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_xticks(range(len(matrix)))
    axes.set_yticks(range(len(matrix)))
    figure.tight_layout()
    figure.savefig(output_path, dpi=100)
    plt.close(figure)

