"""Part 4.3: language priors, RUBi and counterfactual inference (to be written)."""
from __future__ import annotations

__all__: list[str] = []
