"""Checkers for the exercises of Part 5 (evaluation)."""
__all__: list[str] = []
