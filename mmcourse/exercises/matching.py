"""Checkers for the exercises of Part 3: matching (filled in by its section)."""
__all__: list[str] = []
