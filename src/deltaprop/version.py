"""The version of deltaprop (one place, read by the package, the file format and the command line)."""

__version__ = "0.1.0"
