"""The lossfilm version, in the bottom layer: every artifact records which lossfilm made it."""

__version__ = "0.1.0"
