"""Part 2 of the book, Representation: optimization (filled in by its section)."""
__all__: list[str] = []
