"""Errors a user can act on: each message names the value that was received."""


class SslGenError(ValueError):
    """Base class for ssl_gen's input errors."""


class DataError(SslGenError):
    """A data source or array does not have the expected form."""


class ConfigError(SslGenError):
    """A flag value or a run directory does not fit the requested run."""


class TrainingError(RuntimeError):
    """Training cannot continue (for example, a loss became NaN)."""
