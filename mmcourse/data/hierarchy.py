"""Toy world: hierarchy (filled in by its section)."""
__all__: list[str] = []
