"""Checkers for the exercises of Part 3: contextual (filled in by its section)."""
__all__: list[str] = []
