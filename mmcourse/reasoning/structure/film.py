"""Part 4.1: the flat baseline, image and question fused by FiLM (to be written)."""
from __future__ import annotations

__all__: list[str] = []
