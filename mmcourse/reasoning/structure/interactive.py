"""Part 4.1: a language-conditioned agent in the grid world (to be written)."""
from __future__ import annotations

__all__: list[str] = []
