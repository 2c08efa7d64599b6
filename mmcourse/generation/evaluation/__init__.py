"""Part 5.4 of the book, Generation: evaluation (coherence, alignment score, diversity, memorisation) and ethics."""
__all__: list[str] = []
