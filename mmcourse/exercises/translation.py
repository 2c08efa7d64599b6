"""Checkers for the exercises of Part 5 (translation)."""
__all__: list[str] = []
