"""Part 3.1: learning the matching and the embeddings together, through a differentiable transport plan (being written)."""
__all__: list[str] = []
