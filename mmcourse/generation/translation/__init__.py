"""Part 5.2 of the book, Generation: translation between modalities (exemplar-based, generative, cyclic)."""
__all__: list[str] = []
