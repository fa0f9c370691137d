"""Curves from metrics.csv: validation error against wall time and against steps."""

import csv

import numpy as np

import matplotlib

matplotlib.use("Agg")  # Headless: runs write PNGs, they never open windows.
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FormatStrFormatter  # noqa: E402


def read_metrics(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def plot_validation_error(metrics_paths, output_path, labels=None):
    """One line per run: validation error (%) against wall-clock minutes and steps, log scale."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for index, path in enumerate(metrics_paths):
        rows = [row for row in read_metrics(path) if row.get("eval/validation_error")]
        error = [100.0 * float(row["eval/validation_error"]) for row in rows]
        label = labels[index] if labels else path
        axes[0].plot([float(row["wall_time"]) / 60.0 for row in rows], error, label=label)
        axes[1].plot([int(row["step"]) for row in rows], error, label=label)
    for ax, xlabel in zip(axes, ("wall time (minutes)", "training step")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation error (%)")
        ax.set_yscale("log")
        # Plain numbers (0.8, 1, 2) on the log axis, not matplotlib's default 8 × 10^-1.
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize="small")
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

