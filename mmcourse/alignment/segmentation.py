"""Part 3 of the book, Alignment: segmentation (filled in by its section)."""
__all__: list[str] = []
