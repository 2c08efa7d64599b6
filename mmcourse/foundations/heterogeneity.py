"""Part 1: the dimensions of heterogeneity (being written)."""
__all__: list[str] = []
