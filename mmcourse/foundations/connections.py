"""Part 1: connections between modalities (being written)."""
__all__: list[str] = []
