"""Checkers for the exercises of Part 5 (creation)."""
__all__: list[str] = []
