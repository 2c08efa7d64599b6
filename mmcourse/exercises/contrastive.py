"""Checkers for the exercises of Part 2: contrastive."""
__all__: list[str] = []
