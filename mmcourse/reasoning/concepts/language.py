"""Part 4.2: language as the intermediate medium (to be written)."""
from __future__ import annotations

__all__: list[str] = []
