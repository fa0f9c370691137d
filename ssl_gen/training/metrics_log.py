"""metrics.csv (one row per evaluation) and TensorBoard scalars/images, resumable without duplicates."""

import csv
import os

import tensorflow as tf

METRICS_FILE = "metrics.csv"


class MetricsCsv:
    """Rows of {step, wall_time, metric: value}. Rows past the resumed step are dropped on open."""

    def __init__(self, run_dir, resume_step):
        self.path = os.path.join(run_dir, METRICS_FILE)
        self.rows = self._read_rows(resume_step)
        # wall_time continues across resumes, so time-to-accuracy curves stay honest.
        self.time_offset = float(self.rows[-1]["wall_time"]) if self.rows else 0.0
        self._write()

    def _read_rows(self, resume_step):
        if not os.path.exists(self.path):
            return []
        with open(self.path, newline="") as file:
            return [row for row in csv.DictReader(file) if int(row["step"]) <= resume_step]

    def append(self, step, seconds_since_resume, metrics):
        self.rows = [row for row in self.rows if int(row["step"]) != step]
        wall_time = round(self.time_offset + seconds_since_resume, 2)
        self.rows.append({"step": step, "wall_time": wall_time, **metrics})
        self._write()

    def _write(self):
        columns = ["step", "wall_time"]
        for row in self.rows:
            columns += [key for key in row if key not in columns]
        temporary = self.path + ".tmp"
        with open(temporary, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(temporary, self.path)


def read_scalars(run_dir, tag):
    """{step: value} of one TensorBoard scalar over all of a run's event files.

    A resumed run writes a new file and repeats the steps between its checkpoint and the stop; the
    latest write of a step wins, as metrics.csv keeps the rows of the run that went on.
    """
    readings = []
    for path in tf.io.gfile.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            readings += [(event.wall_time, int(event.step), float(tf.make_ndarray(value.tensor)))
                         for value in event.summary.value if value.tag == tag]
    return {step: value for _, step, value in sorted(readings)}


class TensorBoard:
    def __init__(self, run_dir):
        self.writer = tf.summary.create_file_writer(os.path.join(run_dir, "tensorboard"))

    def scalars(self, step, values):
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
        self.writer.flush()

    def image(self, step, name, image_uint8):
        with self.writer.as_default(step=step):
            tf.summary.image(name, image_uint8[None])
        self.writer.flush()
