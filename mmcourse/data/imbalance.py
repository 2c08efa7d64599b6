"""Toy world: imbalance (filled in by its section)."""
__all__: list[str] = []
