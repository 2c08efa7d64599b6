"""Reasoning questions over the scene world (to be written)."""
from __future__ import annotations

__all__: list[str] = []
