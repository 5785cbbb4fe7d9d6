"""Callback registration: one module per tab plus the shell, each with `register(app, context)`."""
from __future__ import annotations

from callbacks import performance, shell


def register_all(app, context) -> None:
    shell.register(app, context)
    performance.register(app, context)
