"""Checkers for the exercises of Part 3: segmentation (filled in by its section)."""
__all__: list[str] = []
