"""Errors a user can act on: each message names the value that was received."""


class SslGenError(ValueError):
    """Base class for ssl_gen's input errors."""


class DataError(SslGenError):
    """A data source or array does not have the expected form."""


class ConfigError(SslGenError):
    """A flag value or a run directory does not fit the requested run."""


class TrainingError(RuntimeError):
    """Training cannot continue (for example, a loss became NaN)."""


class Stopped(Exception):
    """SIGINT or SIGTERM stopped training after it saved a checkpoint; rerunning resumes there."""

    def __init__(self, signal_name, step):
        super().__init__(f"{signal_name} received: saved a checkpoint at step {step} and stopped; run the same "
                         "command again to resume")
        self.signal_name, self.step = signal_name, step
