"""Part 3 of the book, Alignment: contextual (filled in by its section)."""
__all__: list[str] = []
