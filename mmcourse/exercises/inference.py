"""Checkers for the exercises of Part 4 (inference) (to be written)."""
from __future__ import annotations

__all__: list[str] = []
