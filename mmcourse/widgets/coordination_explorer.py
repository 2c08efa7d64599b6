"""The coordination explorer (filled in by its section)."""
__all__: list[str] = []
