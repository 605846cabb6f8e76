"""Files: data in (CSV, .npz, MNIST's IDX, built-in sets), models and checkpoints in and out."""

from .atomic import atomic_write_bytes, check_writable
from .data import Dataset, builtin_datasets, load_builtin, read_data
from .modelfile import (FileFormatError, as_model, declare_kind, load, load_checkpoint, newest_checkpoint,
                        read_header, register_kind, save, save_checkpoint)

__all__ = [
    "Dataset",
    "FileFormatError",
    "as_model",
    "declare_kind",
    "read_header",
    "register_kind",
    "atomic_write_bytes",
    "builtin_datasets",
    "check_writable",
    "load",
    "load_builtin",
    "load_checkpoint",
    "newest_checkpoint",
    "read_data",
    "save",
    "save_checkpoint",
]
