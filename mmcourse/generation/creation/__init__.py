"""Part 5.3 of the book, Generation: creation, joint generative models of two modalities (MVAE, MMVAE)."""
__all__: list[str] = []
