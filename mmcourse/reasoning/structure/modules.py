"""Part 4.1: neural module networks composed along a question's program (to be written)."""
from __future__ import annotations

__all__: list[str] = []
