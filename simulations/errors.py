"""Exception types raised by the synthsim framework itself.

Every error the framework raises on purpose derives from :class:`SynthsimError`, so
callers (the CLI in particular) can catch the framework's own errors and show their
one-line message without a traceback, while genuine bugs still surface as tracebacks.
"""

from __future__ import annotations

__all__ = ["CalibrationError", "ConfigError", "OutputError", "SynthsimError"]


class SynthsimError(Exception):
    """Base class of the framework's own errors."""


class ConfigError(SynthsimError, ValueError):
    """A configuration file, key or value is invalid."""


class OutputError(SynthsimError):
    """The output location cannot be used (exists, not writable, ...)."""


class CalibrationError(SynthsimError, ValueError):
    """Marginals or seeds are inconsistent."""
