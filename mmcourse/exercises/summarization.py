"""Checkers for the exercises of Part 5 (summarization)."""
__all__: list[str] = []
