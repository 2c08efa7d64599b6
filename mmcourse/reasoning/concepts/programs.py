"""Part 4.2: the scene world's programs: parse and execute (to be written)."""
from __future__ import annotations

__all__: list[str] = []
