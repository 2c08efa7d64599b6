"""Checkers for the exercises of Part 2: coordination."""
__all__: list[str] = []
