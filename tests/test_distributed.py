"""tf.distribute: MirroredStrategy on two logical CPUs and two local multi-worker processes."""

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from ssl_gen.errors import ConfigError
from ssl_gen.training.train import run
from tests.conftest import ROOT, SUBPROCESS_ENV, tiny_config


def _losses(run_dir):
    with open(os.path.join(run_dir, "metrics.csv")) as file:
        rows = list(csv.DictReader(file))
    return np.array([[float(row[key]) for key in sorted(row) if key.startswith("loss/")] for row in rows])


def _weights(checkpoint_dir):
    reader = tf.train.load_checkpoint(checkpoint_dir)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith("_CHECKPOINTABLE") and "save_counter" not in name}


def test_mirrored_on_two_cpus_matches_the_default_strategy(tmp_path, mnist_small_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "helpers", "mirrored_vs_default.py"),
                             mnist_small_path, str(tmp_path)], env=SUBPROCESS_ENV, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2" in result.stdout
    default, mirrored = _losses(tmp_path / "default"), _losses(tmp_path / "mirrored")
    assert default.shape == mirrored.shape == (4, default.shape[1]) and default.shape[1] >= 10
    np.testing.assert_allclose(mirrored, default, rtol=1e-4, atol=1e-6)
    default_weights = _weights(str(tmp_path / "default" / "checkpoints"))
    mirrored_weights = _weights(str(tmp_path / "mirrored" / "checkpoints"))
    assert default_weights.keys() == mirrored_weights.keys()
    optimizer_state = [name for name in default_weights if "optimizer" in name.lower()]
    assert optimizer_state and len(optimizer_state) < len(default_weights)
    for name, value in default_weights.items():
        # Adam's moments also get the losses' rtol: summing two replicas' gradients reorders float32
        # additions, and after four steps one moment of 512 differed by 4.5e-5 relative (1.0e-5 absolute)
        # once the entropy term's ops were in the graph. The networks' weights keep the absolute bound.
        rtol = 1e-4 if name in optimizer_state else 0.0
        np.testing.assert_allclose(mirrored_weights[name], value, rtol=rtol, atol=1e-5, err_msg=name)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _run_workers(run_dir, data_path, train_steps):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    flags = [f"--data_path={data_path}", f"--output_dir={run_dir}", "--strategy=multi_worker",
             "--num_labeled=20", "--batch_size=20", f"--train_steps={train_steps}", "--eval_every=3",
             "--checkpoint_every=3", "--log_every=3", "--classifier_units=32,16",
             "--discriminator_units=32,16", "--generator_units=16", "--latent_dim=8", "--warmup_steps=1"]
    workers = [subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "experiments", "train.py"), *flags],
        env={**SUBPROCESS_ENV, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                        "task": {"type": "worker", "index": index}})},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for index in range(len(ports))]
    outputs = []
    for worker in workers:
        try:
            outputs.append(worker.communicate(timeout=600)[0])
        finally:
            worker.kill()
    # A worker that fails often takes the other down with it: show every worker's last lines.
    report = "\n".join(f"--- worker {index} exit {worker.returncode}:\n{output[-2500:]}"
                        for index, (worker, output) in enumerate(zip(workers, outputs)))
    assert all(worker.returncode == 0 for worker in workers), report
    return outputs


def _assert_workers_agree(run_dir, step):
    chief, other = _weights(str(run_dir / "checkpoints")), _weights(str(run_dir / "workers" / "1" / "checkpoints"))
    assert chief.keys() == other.keys()
    assert int(chief["step/.ATTRIBUTES/VARIABLE_VALUE"]) == step
    for name, value in chief.items():
        np.testing.assert_allclose(other[name], value, atol=1e-6, err_msg=name)


def test_two_local_workers_train_agree_on_the_weights_and_resume(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    outputs = _run_workers(run_dir, mnist_small_path, train_steps=6)
    assert "2 replicas in sync" in outputs[0]
    # Only the chief writes logs and the run's checkpoints; the other worker's go to workers/1/.
    assert (run_dir / "metrics.csv").exists() and (run_dir / "samples" / "step_000006.png").exists()
    assert not (run_dir / "workers" / "0").exists()
    _assert_workers_agree(run_dir, step=6)
    # Rerun longer: both workers resume from the chief's step-6 checkpoint.
    outputs = _run_workers(run_dir, mnist_small_path, train_steps=9)
    assert all("at step 6" in output and "resumed from" in output for output in outputs)
    _assert_workers_agree(run_dir, step=9)


def test_multi_worker_without_tf_config_is_refused(tmp_path, mnist_small_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="TF_CONFIG"):
        run(tiny_config(tmp_path, mnist_small_path, strategy="multi_worker"))


def test_unknown_strategy_is_refused(tmp_path, mnist_small_path):
    with pytest.raises(ConfigError, match="received 'horovod'"):
        run(tiny_config(tmp_path, mnist_small_path, strategy="horovod"))


def test_tpu_strategy_without_a_tpu_says_so(tmp_path, mnist_small_path):
    with pytest.raises(ConfigError, match="found no TPU"):
        run(tiny_config(tmp_path, mnist_small_path, strategy="tpu", tpu=""))


def test_batch_that_does_not_split_over_replicas_is_refused(mnist_small_path):
    from ssl_gen import data

    class TwoReplicas:
        num_replicas_in_sync, num_input_pipelines, input_pipeline_id = 2, 1, 0

        def get_per_replica_batch_size(self, batch):
            return batch // 2

    dataset = data.load_npz(mnist_small_path)
    indices = data.balanced_labeled_indices(dataset.y_train, 20, 10, seed=0)
    with pytest.raises(ConfigError, match="batch size 15 does not split evenly over 2 replicas"):
        data.train_dataset(dataset, indices, 15, seed=0, input_context=TwoReplicas())
