"""Toy world: multiview (filled in by its section)."""
__all__: list[str] = []
