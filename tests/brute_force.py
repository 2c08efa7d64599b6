"""Brute-force references shared by the alignment tests (pytest puts tests/ on the path)."""


def all_paths(n, m):
    """Every monotone warping path from (0, 0) to (n−1, m−1) with steps (1, 0), (0, 1), (1, 1)."""
    def extend(path):
        i, j = path[-1]
        if (i, j) == (n - 1, m - 1):
            yield list(path)
            return
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            if i + di < n and j + dj < m:
                yield from extend(path + [(i + di, j + dj)])
    return list(extend([(0, 0)]))
