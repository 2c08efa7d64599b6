"""Checkers for the exercises of Part 2: robustness."""
__all__: list[str] = []
