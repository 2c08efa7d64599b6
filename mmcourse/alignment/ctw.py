"""Part 3 of the book, Alignment: ctw (filled in by its section)."""
__all__: list[str] = []
