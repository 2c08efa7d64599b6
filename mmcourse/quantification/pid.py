"""Part 7 of the book, Quantification: pid (filled in by its section)."""
__all__: list[str] = []
