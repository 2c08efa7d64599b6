"""Part 4.1: recurrent fusion with a cross-modal memory, MFN-style (to be written)."""
from __future__ import annotations

__all__: list[str] = []
