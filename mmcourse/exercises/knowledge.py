"""Checkers for the exercises of Part 4 (knowledge) (to be written)."""
from __future__ import annotations

__all__: list[str] = []
