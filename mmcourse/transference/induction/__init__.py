"""Part 6.3 of the book, Transference: model induction (being written)."""
__all__: list[str] = []
