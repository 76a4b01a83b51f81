"""Exceptions shared by every component."""


class AspectsError(Exception):
    """Base class of the errors this package raises on purpose."""


class ConfigError(AspectsError):
    """The settings are invalid or incomplete for what was asked."""
