"""Part 6.1 (being written)."""
__all__: list[str] = []
