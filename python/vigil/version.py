"""The SDK's version, recorded in every run's `host` object."""

__version__ = "0.1.0"
