"""Checkers for the exercises of Part 3: warping_spaces (filled in by its section)."""
__all__: list[str] = []
