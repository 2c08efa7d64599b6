"""Part 6.2 of the book, Transference: multimodal co-learning (being written)."""
__all__: list[str] = []
