"""Part 4.2: stacked attention over the grid cells (to be written)."""
from __future__ import annotations

__all__: list[str] = []
