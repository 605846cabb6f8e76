"""``python -m deltaprop.cli``: the same as the ``deltaprop`` command."""

from .app import entry

entry()
