"""Part 4.2: a neuro-symbolic pipeline, learned scene parser + exact executor (to be written)."""
from __future__ import annotations

__all__: list[str] = []
