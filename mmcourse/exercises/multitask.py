"""Checkers for the exercises of Part 6 (being written)."""
__all__: list[str] = []
