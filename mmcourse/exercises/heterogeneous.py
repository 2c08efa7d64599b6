"""Checkers for the exercises of Part 2: heterogeneous."""
__all__: list[str] = []
