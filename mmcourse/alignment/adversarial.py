"""Part 3 of the book, Alignment: adversarial (filled in by its section)."""
__all__: list[str] = []
