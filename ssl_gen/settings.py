"""Settings groups: dataclasses declared by the module that reads them, each field with its flag help,
each group validating its own fields. `ssl_gen.training.config.Config` composes them into one run."""

import dataclasses

from ssl_gen.errors import ConfigError


def setting(default, help):  # noqa: A002 - the flag's help, as absl names it
    """A field of a settings group: its default and its one- or two-line flag help."""
    return dataclasses.field(default=default, metadata={"help": help})


def redefault(group, name, default):
    """A field declared by `group` again, with its help and another default (a method's own choice)."""
    return setting(default, help_of(group, name))


def names(group):
    """The field names of a settings group (class or instance)."""
    return [field.name for field in dataclasses.fields(group)]


def help_of(group, name):
    return next(field.metadata["help"] for field in dataclasses.fields(group) if field.name == name)


def as_tuples(group, *fields):
    """Lists of widths (from flags or JSON) as tuples of ints, so settings compare and hash alike."""
    for name in fields:
        setattr(group, name, tuple(int(value) for value in getattr(group, name)))


def require_positive(group, *fields):
    for name in fields:
        if not getattr(group, name) > 0:
            raise ConfigError(f"{name} must be positive; received {getattr(group, name)}")


def require_non_negative(group, *fields):
    for name in fields:
        if getattr(group, name) < 0:
            raise ConfigError(f"{name} must be >= 0; received {getattr(group, name)}")


def require_unit_interval(group, *fields):
    for name in fields:
        if not 0.0 <= getattr(group, name) <= 1.0:
            raise ConfigError(f"{name} must lie in [0, 1]; received {getattr(group, name)}")


def require_choice(group, name, choices):
    if getattr(group, name) not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}; received {getattr(group, name)!r}")
