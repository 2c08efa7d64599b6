"""Part 2 of the book, Representation: fission (filled in by its section)."""
__all__: list[str] = []
