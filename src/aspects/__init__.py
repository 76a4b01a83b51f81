"""aspects: open learning analytics for Open edX."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aspects")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
