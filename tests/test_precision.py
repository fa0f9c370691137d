import keras
import numpy as np
import pytest
import tensorflow as tf

from ssl_gen import export
from ssl_gen.training import precision, runs, train
from tests.conftest import tiny_config


@pytest.mark.parametrize("flags, expected", [("fpu sse2 avx512f amx_tile amx_bf16", True),
                                             ("fpu sse2 avx512f avx512_bf16", True),
                                             ("fpu sse2 avx2 avx512f", False)])
def test_bfloat16_is_native_only_with_the_cpu_flags_that_compute_it(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: some cpu\nflags\t\t: {flags}\n")
    assert precision._cpu_has_bfloat16(str(cpuinfo)) is expected


def test_without_cpuinfo_the_precision_stays_float32(tmp_path):
    assert precision._cpu_has_bfloat16(str(tmp_path / "missing")) is False


def test_the_policy_holds_inside_and_the_previous_one_returns_even_after_an_error():
    with pytest.raises(RuntimeError):
        with precision.policy(precision.MIXED):
            layer = keras.layers.Dense(2)
            assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
            raise RuntimeError("inside")
    assert keras.mixed_precision.global_policy().name == "float32"
    assert layer(tf.ones([1, 3])).dtype == tf.bfloat16 and layer.kernel.dtype == tf.float32


def test_a_bfloat16_run_is_restored_and_exported_in_float32(tmp_path, mnist_small_path):
    run_dir = tmp_path / "run"
    train.run(tiny_config(run_dir, mnist_small_path, mixed_precision=True))
    assert runs.config_lib.load(str(run_dir)).mixed_precision
    _, _, method, _ = runs.restore(str(run_dir))
    assert {layer.compute_dtype for layer in method.classifier.network.layers} == {"float32"}
    export.export_run(str(run_dir), str(tmp_path / "export"))
    exported = export.SavedModelMethod(str(tmp_path / "export"))
    images = np.random.default_rng(0).uniform(-1.0, 1.0, (8, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(tf.nn.softmax(exported.classify(images)).numpy(),
                               tf.nn.softmax(method.classify(images)).numpy(), atol=1e-5)
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("capabilities, expected", [([(8, 0), (9, 0)], True), ([(9, 0), (7, 5)], False)])
def test_on_gpus_bfloat16_is_native_only_when_every_gpu_is_ampere_or_later(monkeypatch, capabilities, expected):
    gpus = [f"GPU:{index}" for index in range(len(capabilities))]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details",
                        lambda gpu: {"compute_capability": capabilities[gpus.index(gpu)]})
    precision.native_bfloat16.cache_clear()
    try:
        assert precision.native_bfloat16() is expected
    finally:
        precision.native_bfloat16.cache_clear()
