"""Part 5.1 of the book, Generation: summarization (extractive and abstractive, coverage)."""
__all__: list[str] = []
