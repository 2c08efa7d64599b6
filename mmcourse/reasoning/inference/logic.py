"""Part 4.3: logical consistency of compositional answers (to be written)."""
from __future__ import annotations

__all__: list[str] = []
