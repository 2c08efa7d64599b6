"""Part 2 of the book, Representation: heterogeneous (filled in by its section)."""
__all__: list[str] = []
