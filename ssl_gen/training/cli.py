"""absl flags generated from the settings groups, so a script's flags and config.json never drift apart."""

import dataclasses
import functools
import signal
import sys

from absl import flags

from ssl_gen import methods, settings
from ssl_gen.models import architectures
from ssl_gen.training import config as config_lib, presets
from ssl_gen.training.config import Config
from ssl_gen.errors import SslGenError, Stopped, TrainingError


def _flag_table():
    """[(name, default, help)] of every setting: the run's, the networks', then each method's; a method
    setting's default is its first declaring method's (the default method's where it has one), and a run
    takes the method's own default unless the flag is given."""
    run, networks = Config(), architectures.NetworkSettings()
    table = [(field.name, getattr(run, field.name), field.metadata["help"]) for field in dataclasses.fields(run)
             if field.name in config_lib.RUN_SETTINGS]
    table += [(field.name, getattr(networks, field.name), field.metadata["help"])
              for field in dataclasses.fields(networks)]
    owners = config_lib.method_setting_owners()
    default_method = Config.method
    for name, declaring in owners.items():
        first = default_method if default_method in declaring else declaring[0]
        table.append((name, getattr(methods.get_class(first).Settings(), name), _method_help(name, declaring)))
    return table


def _method_help(name, declaring):
    """"m1 / m2: help" for a setting several methods declare alike; one part per distinct help."""
    by_help = {}
    for method in declaring:
        by_help.setdefault(settings.help_of(methods.get_class(method).Settings, name), []).append(method)
    return " ".join(f"{' / '.join(owners)}: {text}" for text, owners in by_help.items())


def define_config_flags(flag_values=flags.FLAGS):
    for name, default, help_text in _flag_table():
        if name == "output_dir":
            default = None  # Required: absl enforces it only for a None default.
        if isinstance(default, bool):
            flags.DEFINE_bool(name, default, help_text, flag_values=flag_values)
        elif isinstance(default, int):
            flags.DEFINE_integer(name, default, help_text, flag_values=flag_values)
        elif isinstance(default, float):
            flags.DEFINE_float(name, default, help_text, flag_values=flag_values)
        elif isinstance(default, tuple):
            flags.DEFINE_list(name, [str(value) for value in default], help_text, flag_values=flag_values)
        else:
            flags.DEFINE_string(name, default, help_text, flag_values=flag_values)


def config_from_flags(values):
    """The run's and the networks' flags; the method's flags only where given (otherwise the method's own
    defaults); with --preset, the preset's values for every flag not given explicitly."""
    method_names = set(config_lib.method_setting_owners())
    chosen = {name: values[name].value for name, _, _ in _flag_table()
              if name not in method_names or values[name].present}
    if chosen["preset"]:
        explicit = {name for name in chosen if values[name].present}
        chosen.update({name: value for name, value in presets.get(chosen["preset"]).items()
                       if name not in explicit})
    return config_lib.build(**chosen)


def reporting_user_errors(main):
    """Wraps an absl `main`: an error the user can act on ends the script with its message (exit 1)
    instead of a traceback that buries it; a training stopped by a signal exits with 128 + its number."""

    @functools.wraps(main)
    def wrapped(argv):
        try:
            return main(argv)
        except (SslGenError, TrainingError) as error:
            sys.exit(f"{type(error).__name__}: {error}")
        except Stopped as stop:
            # The shell's status for a process a signal ended (130, 143): `set -e` scripts stop there.
            print(stop, file=sys.stderr)
            sys.exit(128 + signal.Signals[stop.signal_name].value)

    return wrapped
