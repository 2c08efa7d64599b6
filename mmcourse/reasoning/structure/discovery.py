"""Part 4.1: searching over reasoning structures (to be written)."""
from __future__ import annotations

__all__: list[str] = []
