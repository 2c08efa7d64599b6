"""Part 2.4: partial coordination by relationships (being written)."""
__all__: list[str] = []
