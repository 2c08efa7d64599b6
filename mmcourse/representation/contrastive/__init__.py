"""Part 2 of the book, Representation: contrastive (filled in by its section)."""
__all__: list[str] = []
