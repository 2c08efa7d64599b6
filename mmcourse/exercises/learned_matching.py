"""Checkers for the exercises of a chapter (being written)."""
__all__: list[str] = []
