r"""Reading a matching off a similarity matrix (Part 3.1): local argmax, the Hungarian algorithm, optimal transport.

Given ``S[t, i]``, the similarity of element t of one modality (a phrase) with element i of the other (a region),
:func:`match` returns the element each row is matched with. Local matching treats every row on its own; the
Hungarian algorithm (Kuhn, 1955, *The Hungarian Method for the Assignment Problem*) and optimal transport enforce
one-to-one. :func:`evaluate_matching` measures how often each recovers a hidden permutation of a scene's phrases.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from mmcourse._checks import check_int, check_module, check_same_rows, check_tensor
from mmcourse.alignment._checks import as_numpy, positive
from mmcourse.alignment.transport import optimal_transport, sinkhorn

__all__ = ["MATCHERS", "match", "matching_accuracy", "evaluate_matching"]

MATCHERS = ("local", "hungarian", "transport", "sinkhorn")


def match(similarity, method: str = "hungarian", *, reg: float = 0.05) -> np.ndarray:
    r"""Match the rows of a similarity matrix to its columns: ``assignment[t]`` is the column row t goes with.

    - ``"local"``: :math:`\hat\jmath(t) = \arg\max_i S_{ti}`, each row on its own (two rows may share a column).
    - ``"hungarian"``: the permutation maximising :math:`\sum_t S_{t\sigma(t)}` (Kuhn, 1955; SciPy's
      ``linear_sum_assignment``); rectangular matrices leave the extra rows at -1 or columns unused.
    - ``"transport"``: the exact optimal transport plan (:func:`optimal_transport`) between uniform weights with
      cost ``1 − S``, then the largest entry of each row; for a square matrix it is an optimal permutation.
    - ``"sinkhorn"``: the same with the entropic plan (:func:`sinkhorn`, regularisation ``reg``): smooth and
      differentiable, nearly one-to-one for small ``reg``.

    Book section: Part 3.1, discrete alignment.

    Parameters
    ----------
    similarity : array-like or torch.Tensor, shape (n, m)
        ``S[t, i]``, for example the cosine of phrase t and region i.
    method : str
        One of :data:`MATCHERS`.
    reg : float
        ε of ``"sinkhorn"``, in units of the cost ``1 − S``.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)

    Examples
    --------
    >>> S = np.array([[0.9, 0.8], [0.7, 0.1]])     # both rows prefer column 0
    >>> match(S, "local").tolist(), match(S, "hungarian").tolist(), match(S, "transport").tolist()
    ([0, 0], [1, 0], [1, 0])
    """
    where = "match"
    if method not in MATCHERS:
        raise ValueError(f"{where}: unknown method={method!r}; expected one of {list(MATCHERS)}")
    reg = positive(reg, "reg", where)
    S = as_numpy(similarity, "similarity", where)
    if S.ndim != 2 or 0 in S.shape:
        raise ValueError(f"{where}: similarity must be a non-empty matrix (n, m), got shape {S.shape}")
    n, m = S.shape
    if method == "local":
        return S.argmax(axis=1).astype(np.int64)
    if method == "hungarian":
        rows, cols = linear_sum_assignment(S, maximize=True)
        out = np.full(n, -1, dtype=np.int64)
        out[rows] = cols
        return out
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    if method == "transport":
        plan = optimal_transport(a, b, 1.0 - S)
    else:
        # Only the largest entry of each row is used, so a loose tolerance is enough (and much faster).
        plan = sinkhorn(a, b, 1.0 - S, reg, tol=1e-3)
    return plan.argmax(axis=1).astype(np.int64)


def matching_accuracy(assignment, truth) -> tuple[bool, float]:
    """``(whole, element)``: whether the assignment equals ``truth`` everywhere, and the fraction of rows it gets.

    Examples
    --------
    >>> matching_accuracy([1, 0, 2], [1, 2, 0])
    (False, 0.3333333333333333)
    """
    a, t = np.asarray(assignment), np.asarray(truth)
    for name, array in (("assignment", a), ("truth", t)):
        if array.dtype.kind not in "iu":
            raise TypeError(f"matching_accuracy: {name} must hold integer indices, got dtype {array.dtype}")
    if a.shape != t.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"matching_accuracy: assignment and truth must be 1-D of the same non-zero length, got "
                         f"shapes {a.shape} and {t.shape}")
    correct = a == t
    return bool(correct.all()), float(correct.mean())


def evaluate_matching(model: nn.Module, regions: Tensor, phrases: Tensor, mask: Tensor, *,
                      noise: float = 0.0, methods=("local", "hungarian", "transport"),
                      seed: int = 0) -> dict[str, dict[str, float]]:
    """Shuffle each scene's phrases by a hidden permutation, add pixel noise, and score every matcher.

    For every scene, the phrases are permuted at random, the regions get Gaussian noise of standard deviation
    ``noise`` on each pixel, the model gives the cosine matrix ``S[t, i] = cos(w_t, v_i)`` (phrases × regions),
    and each method of :func:`match` recovers a permutation.

    Parameters
    ----------
    model : WordRegionModel
        A trained model (anything whose ``model(regions, phrases)`` returns unit embeddings ``(v, w)``).
    regions, phrases, mask : torch.Tensor
        As returned by :func:`scene_pairs` (each scene's objects in its first slots).
    noise : float
        Standard deviation of the Gaussian noise added to every pixel of the regions.
    methods : sequence of str
        Some of :data:`MATCHERS` (``"sinkhorn"`` is left out by default: it takes about 10 ms a scene).
    seed : int
        Seeds the permutations and the noise.

    Returns
    -------
    dict
        ``{method: {"permutation": fraction of scenes matched entirely right, "element": fraction of phrases
        matched right, "chance_permutation": mean 1/k!, "chance_element": mean 1/k}}``.

    Examples
    --------
    >>> from mmcourse.alignment import WordRegionModel, scene_pairs
    >>> from mmcourse.data import load_scenes
    >>> data = scene_pairs(load_scenes(n_train=1, n_val=1, n_test=5, cache=False)["test"])
    >>> result = evaluate_matching(WordRegionModel(dim=4, width=8), *data, methods="hungarian")
    >>> sorted(result["hungarian"])
    ['chance_element', 'chance_permutation', 'element', 'permutation']
    """
    where = "evaluate_matching"
    check_module(where, "model", model)
    check_tensor(where, "regions", regions, dim=5, kind="any")
    check_tensor(where, "phrases", phrases, dim=3, kind="int")
    check_tensor(where, "mask", mask, dim=2, kind="any")
    check_same_rows(where, regions=regions, phrases=phrases, mask=mask)
    seed = check_int(where, "seed", seed, low=0)
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    unknown = [mth for mth in methods if mth not in MATCHERS]
    if unknown:
        raise ValueError(f"{where}: unknown method(s) {unknown}; expected some of {list(MATCHERS)}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"{where}: noise must be a number ≥ 0, got {noise!r}")
    generator = torch.Generator().manual_seed(seed)
    noisy = regions.float().cpu() + noise * torch.randn(regions.shape, generator=generator)
    device = next(model.parameters()).device  # evaluate where the model lives, match on the CPU
    with torch.no_grad():
        v, w = (z.cpu() for z in model(noisy.to(device), phrases.to(device)))
    whole = {mth: [] for mth in methods}
    element = {mth: [] for mth in methods}
    sizes = mask.cpu().sum(1).tolist()
    for s, k in enumerate(sizes):
        perm = torch.randperm(k, generator=generator)  # shuffled phrase t is object perm[t]
        similarity = (w[s, :k][perm] @ v[s, :k].T).numpy()
        for mth in methods:
            ok, frac = matching_accuracy(match(similarity, mth), perm.numpy())
            whole[mth].append(ok)
            element[mth].append(frac)
    chance = {"chance_permutation": float(np.mean([1 / math.factorial(k) for k in sizes])),
              "chance_element": float(np.mean([1 / k for k in sizes]))}
    return {mth: {"permutation": float(np.mean(whole[mth])), "element": float(np.mean(element[mth])), **chance}
            for mth in methods}
