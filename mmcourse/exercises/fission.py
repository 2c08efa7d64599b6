"""Checkers for the exercises of Part 2: fission."""
__all__: list[str] = []
