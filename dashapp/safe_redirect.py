"""Validation of the `next` parameter: it may only lead to a path inside this app."""
from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_TARGET = "/"


def safe_next(target: str | None) -> str:
    """`target` when it is a local absolute path, otherwise the home page."""
    if not target or len(target) > 2048:
        return DEFAULT_TARGET
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return DEFAULT_TARGET
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return DEFAULT_TARGET
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return DEFAULT_TARGET
    return target
