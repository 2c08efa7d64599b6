"""The grid world of Part 4.1 (to be written)."""
from __future__ import annotations

__all__: list[str] = []
