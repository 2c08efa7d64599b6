"""Part 3 of the book, Alignment: matching (filled in by its section)."""
__all__: list[str] = []
