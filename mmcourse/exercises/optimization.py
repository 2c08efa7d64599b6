"""Checkers for the exercises of Part 2: optimization."""
__all__: list[str] = []
