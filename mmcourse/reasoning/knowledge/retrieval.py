"""Part 4.4: retrieval from a knowledge base fused with perception (to be written)."""
from __future__ import annotations

__all__: list[str] = []
