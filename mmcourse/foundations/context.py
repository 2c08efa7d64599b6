"""Part 1: contextualised interactions (being written)."""
__all__: list[str] = []
