"""Part 2 of the book, Representation: coordination (filled in by its section)."""
__all__: list[str] = []
