"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class JaxgenError(Exception):
    """A problem the user can fix; the message names the key/file/shape and the fix."""


class ConfigError(JaxgenError):
    """A bad config key or value."""


class DataError(JaxgenError):
    """A dataset that is missing, unprepared or malformed."""


class MetricError(JaxgenError):
    """Inputs a metric cannot give an honest number for (too few samples, NaN features, shape mismatch)."""


class Interrupted(JaxgenError):
    """The run was stopped by Ctrl-C or SIGTERM after saving a checkpoint."""


class TimeBudgetReached(JaxgenError):
    """The run spent `config.max_seconds` and stopped after saving a checkpoint; the same command continues it."""


class NonFiniteLoss(JaxgenError):
    """A loss or the state became NaN or infinite; the run stopped without saving it."""
