"""Toy world: scenes (filled in by its section)."""
__all__: list[str] = []
