"""Storyboards: short sequences of scenes with captions, to summarize (Part 5.1). Written by helper S."""
__all__: list[str] = []
