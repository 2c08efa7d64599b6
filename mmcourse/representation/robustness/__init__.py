"""Part 2 of the book, Representation: robustness (filled in by its section)."""
__all__: list[str] = []
