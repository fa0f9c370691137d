"""Config composes the settings groups: the run's, the networks' and the chosen method's own."""

import dataclasses
import json

import pytest

from ssl_gen import methods, settings
from ssl_gen.errors import ConfigError
from ssl_gen.models import architectures
from ssl_gen.training import config as config_lib


def test_build_sends_each_name_to_the_group_that_declares_it():
    config = config_lib.build(method="improved_gan", seed=4, latent_dim=8, augment_shift=2, ema_decay=0.5)
    assert config.seed == 4 and config.networks.latent_dim == 8
    assert (config.method_settings.augment_shift, config.method_settings.ema_decay) == (2, 0.5)
    assert isinstance(config.method_settings, methods.get_class("improved_gan").Settings)


def test_config_json_nests_the_groups_and_reads_back_equal(tmp_path):
    config = config_lib.build(output_dir=str(tmp_path), method="pseudo_label", classifier_units=(8, 4),
                              generator_mode_seeking_weight=1.0)
    config_lib.save(config, str(tmp_path))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["networks"]["classifier_units"] == [8, 4]
    assert saved["method_settings"]["generator_mode_seeking_weight"] == 1.0
    assert "augment_shift" not in saved["method_settings"]  # another method's setting
    assert config_lib.load(str(tmp_path)) == config


def test_an_unknown_key_in_a_saved_group_is_refused(tmp_path):
    config_lib.save(config_lib.build(output_dir=str(tmp_path)), str(tmp_path))
    saved = json.loads((tmp_path / "config.json").read_text())
    saved["method_settings"]["no_such_weight"] = 1.0
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.raises(ConfigError, match=r"unknown keys \['no_such_weight'\] in joint's settings"):
        config_lib.load(str(tmp_path))


def test_a_name_no_group_declares_is_refused():
    with pytest.raises(ConfigError, match="unknown setting 'augment_shfit'"):
        config_lib.build(augment_shfit=2)


@pytest.mark.parametrize("name", sorted(methods.METHODS))
def test_each_method_declares_its_settings_in_its_own_module_with_help(name):
    method_class = methods.get_class(name)
    assert method_class.Settings.__module__ == method_class.__module__
    for field in dataclasses.fields(method_class.Settings):
        assert field.metadata["help"].strip(), f"{name}.{field.name} has no help"
    # No method setting shadows a run or network setting: every flag has one owner group.
    shared = set(settings.names(method_class.Settings)) & (
        set(config_lib.RUN_SETTINGS) | set(settings.names(architectures.NetworkSettings)))
    assert not shared


def test_a_method_validates_its_own_settings(tmp_path):
    with pytest.raises(ConfigError, match="gan_learning_rate must be positive; received 0.0"):
        config_lib.build(output_dir=str(tmp_path), method="pseudo_label", gan_learning_rate=0.0).validate()
    with pytest.raises(ConfigError, match="ssvae_m2 has MLP networks only"):
        config_lib.build(output_dir=str(tmp_path), method="ssvae_m2", architecture="conv").validate()
