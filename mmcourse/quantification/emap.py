"""Part 7 of the book, Quantification: emap (filled in by its section)."""
__all__: list[str] = []
