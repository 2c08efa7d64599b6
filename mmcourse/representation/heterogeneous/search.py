r"""Dynamic early fusion as a search (Part 2.2), in the spirit of MFAS (Perez-Rua et al. 2019).

A multimodal network is a composition of building blocks. The *representation* blocks say how deep each modality is
encoded before it is fused: modality :math:`m` contributes the output of layer :math:`\ell_m` of its own MLP
(:math:`\ell_m = 0`: the raw input, i.e. early fusion). The *fusion* block is one of the fusions of Part 2.1
(:data:`~mmcourse.representation.FUSIONS`). A :class:`Candidate` is one choice of :math:`(\ell_1, \dots, \ell_M,
\text{fusion})`; :class:`ComposedFusionModel` builds it, with a linear head so that every interaction comes from the
fusion; :func:`search_fusion` finds a good one by successive halving: train every candidate briefly, keep the better
half on validation accuracy, train the survivors longer, and so on.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import torch
from torch import Tensor, nn

from mmcourse.representation.fusion import FUSIONS, make_fusion, parameter_count
from mmcourse.training import _check_data, evaluate, fit
from mmcourse.utils import check_positive, set_seed

__all__ = ["Candidate", "ComposedFusionModel", "SearchResult", "successive_halving", "search_fusion"]


@dataclass(frozen=True)
class Candidate:
    """One composition of building blocks: the encoder layer each modality contributes, and the fusion."""

    layers: tuple[int, ...]
    fusion: str

    def __str__(self) -> str:
        return f"{self.fusion} @ layers {self.layers}"


class ComposedFusionModel(nn.Module):
    r"""The network a :class:`Candidate` describes: ``logits = V · fusion(h₁^{(ℓ₁)}, …, h_M^{(ℓ_M)}) + c``.

    :math:`h_m^{(0)} = \mathrm{vec}(x_m)` and :math:`h_m^{(\ell)} = \mathrm{ReLU}(W_{m,\ell} h_m^{(\ell - 1)} +
    b_{m,\ell})` of size ``width``; only the layers a candidate uses are built.

    Parameters
    ----------
    samples : sequence of Tensor
        One example per modality (no batch axis).
    num_classes : int
    candidate : Candidate
    width : int
        Size of every encoder layer and of the fused vector.
    rank : int
        Rank of the fusions that take one (``low_rank``).

    Examples
    --------
    >>> model = ComposedFusionModel([torch.zeros(12)] * 2, 2, Candidate((0, 2), "tensor"), width=4)
    >>> model(torch.zeros(3, 12), torch.zeros(3, 12)).shape, [len(e) for e in model.encoders]
    (torch.Size([3, 2]), [1, 5])
    """

    def __init__(self, samples: Sequence[Tensor], num_classes: int, candidate: Candidate, *, width: int = 16,
                 rank: int = 4):
        super().__init__()
        if not isinstance(candidate, Candidate):
            raise TypeError(f"ComposedFusionModel: candidate must be a Candidate, got {type(candidate).__name__}")
        for m, sample in enumerate(samples):
            if not isinstance(sample, Tensor):
                raise TypeError(f"ComposedFusionModel: samples[{m}] must be a torch.Tensor (one example), got "
                                f"{type(sample).__name__}")
        check_positive("ComposedFusionModel", num_classes=num_classes, width=width, rank=rank)
        if len(candidate.layers) != len(samples):
            raise ValueError(f"ComposedFusionModel: candidate.layers must give one layer per modality "
                             f"({len(samples)}), got {candidate.layers}")
        if any(isinstance(l, bool) or not isinstance(l, int) or l < 0 for l in candidate.layers):
            raise ValueError(f"ComposedFusionModel: candidate.layers must be integers ≥ 0, got {candidate.layers}")
        if candidate.fusion not in FUSIONS:
            raise ValueError(f"ComposedFusionModel: unknown fusion {candidate.fusion!r}; known: {', '.join(FUSIONS)}")
        self.candidate = candidate
        self.encoders = nn.ModuleList()
        dims = []
        for sample, depth in zip(samples, candidate.layers):
            blocks: list[nn.Module] = [nn.Flatten()]
            size = sample.numel()
            for _ in range(depth):
                blocks += [nn.Linear(size, width), nn.ReLU()]
                size = width
            self.encoders.append(nn.Sequential(*blocks))
            dims.append(size)
        self.sample_shapes = [tuple(sample.shape) for sample in samples]
        kwargs = {"rank": rank} if FUSIONS[candidate.fusion].uses_rank else {}
        self.fusion = make_fusion(candidate.fusion, dims, width, **kwargs)
        self.head = nn.Linear(width, num_classes)

    def forward(self, *xs: Tensor) -> Tensor:
        if len(xs) != len(self.encoders):
            raise ValueError(f"ComposedFusionModel: expected {len(self.encoders)} modalities, got {len(xs)}")
        for m, (x, shape) in enumerate(zip(xs, self.sample_shapes)):
            if not isinstance(x, Tensor):
                raise TypeError(f"ComposedFusionModel: modality {m} must be a torch.Tensor, got {type(x).__name__}")
            if tuple(x.shape[1:]) != shape or x.shape[0] != xs[0].shape[0]:
                raise ValueError(f"ComposedFusionModel: modality {m} must have shape (batch, "
                                 f"{', '.join(map(str, shape))}) with the batch of modality 0, got {tuple(x.shape)}")
        return self.head(self.fusion(*(enc(x) for enc, x in zip(self.encoders, xs))))


@dataclass
class SearchResult:
    """What :func:`search_fusion` found.

    Attributes
    ----------
    best : Candidate
        The survivor of the last round with the highest validation accuracy.
    best_accuracy : float
        Its validation accuracy.
    table : pandas.DataFrame
        One row per candidate, best first: ``fusion``, ``layers``, ``parameters``, ``epochs`` trained,
        ``rounds`` survived, and the validation accuracy after each round it took part in (``round 1`` …).
    model : nn.Module
        The trained network of ``best``.
    """

    best: Candidate
    best_accuracy: float
    table: pd.DataFrame
    model: nn.Module


def successive_halving(space: Sequence, build: Callable[[object], nn.Module], train: tuple[Sequence[Tensor], Tensor],
                       val: tuple[Sequence[Tensor], Tensor], *, epochs: int = 2, eta: int = 2, rounds: int = 3,
                       lr: float = 1e-2, batch_size: int = 64, seed: int = 0) -> SearchResult:
    """Successive halving (Jamieson and Talwalkar 2016) over any candidates: round ``r`` trains each survivor ``epochs · eta^(r-1)`` more epochs
    (continuing where it stopped), scores it on ``val`` and keeps the best ``⌈n / eta⌉`` (ties: the earlier one).

    Parameters
    ----------
    space : sequence
        The candidates (hashable, with a readable ``str``).
    build : callable
        ``build(candidate)`` returns its untrained network, called as ``model(*inputs)``.
    train, val : (list of Tensor, Tensor)
        ``(inputs, labels)``, as from :func:`mmcourse.data.as_tensors`.
    epochs, eta, rounds, lr, batch_size, seed
        The first round's epochs, the halving factor (≥ 2), the number of rounds and the training settings.

    Returns
    -------
    SearchResult
        ``table`` has one row per candidate (best first): ``parameters``, ``epochs``, ``rounds`` survived, the
        validation accuracy after each round (``round 1`` …) and the last one (``val accuracy``).

    Book sections: Part 2.2 (fusion search, :func:`search_fusion`) and Part 4.1 (structure discovery).

    Examples
    --------
    >>> x = torch.linspace(-1, 1, 32)[:, None]; y = (x[:, 0] > 0).long()
    >>> result = successive_halving([1, 2, 4], lambda width: nn.Sequential(nn.Linear(1, width), nn.Linear(width, 2)),
    ...                             ([x], y), ([x], y), epochs=1, rounds=2)
    >>> result.table[["epochs", "rounds"]].values.tolist()  # two of three survive round 1 and train 2 epochs more
    [[3, 2], [3, 2], [1, 1]]
    """
    if not callable(build):
        raise TypeError(f"successive_halving: build must be callable (candidate → model), got {type(build).__name__}")
    check_positive("successive_halving", epochs=epochs, rounds=rounds, batch_size=batch_size)
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise ValueError(f"successive_halving: eta must be an integer >= 2, got eta={eta!r}")
    space = list(space)
    if not space or len(set(space)) != len(space):
        raise ValueError(f"successive_halving: space must be a non-empty list of distinct candidates, got {space}")
    models, rows = {}, {}
    for k, candidate in enumerate(space):
        set_seed(seed + k)
        models[candidate] = build(candidate)
        rows[candidate] = {"parameters": parameter_count(models[candidate]), "epochs": 0, "rounds": 0}
    scores, alive = {}, list(space)
    for r in range(1, rounds + 1):
        if r > 1 and len(alive) == 1:
            break
        for k, candidate in enumerate(alive):
            set_seed(seed + 1000 * r + k)
            more = epochs * eta ** (r - 1)
            fit(models[candidate], train, epochs=more, lr=lr, batch_size=batch_size, progress=False)
            scores[candidate] = evaluate(models[candidate], val)["accuracy"]
            rows[candidate].update({"epochs": rows[candidate]["epochs"] + more, "rounds": r,
                                    f"round {r}": scores[candidate]})
        alive = sorted(alive, key=lambda c: -scores[c])  # stable: ties keep the order of the space
        if r < rounds:
            alive = alive[:max(1, math.ceil(len(alive) / eta))]
    table = pd.DataFrame([rows[c] for c in space], index=[str(c) for c in space])
    table["val accuracy"] = [scores[c] for c in space]
    table = table.sort_values(["rounds", "val accuracy"], ascending=False, kind="stable")
    return SearchResult(alive[0], scores[alive[0]], table, models[alive[0]])


def search_fusion(train: tuple[Sequence[Tensor], Tensor], val: tuple[Sequence[Tensor], Tensor], *,
                  fusions: Sequence[str] = ("additive", "late", "multiplicative", "low_rank", "tensor"),
                  layers: Sequence[int] = (0, 1, 2), width: int = 16, epochs: int = 2, eta: int = 2,
                  rounds: int = 3, lr: float = 1e-2, batch_size: int = 256, seed: int = 0) -> SearchResult:
    """Successive-halving search over compositions of representation and fusion blocks.

    The search space is every ``Candidate(layers, fusion)`` with one entry of ``layers`` per modality and a fusion
    from ``fusions``. Round ``r = 1, 2, …`` trains each surviving candidate ``epochs · eta^(r-1)`` more epochs
    (continuing from where it stopped), scores it on ``val`` and keeps the best ``⌈n / eta⌉``; the search stops
    after ``rounds`` rounds (or when one candidate is left) and returns the best of the last round.

    Parameters
    ----------
    train, val : (list of Tensor, Tensor)
        ``(inputs, labels)``, as from :func:`mmcourse.data.as_tensors`.
    fusions : sequence of str
        Fusion blocks, names from :data:`~mmcourse.representation.FUSIONS`.
    layers : sequence of int
        Representation blocks: the encoder depths each modality may be fused at (0: the raw input).
    width, epochs, eta, rounds, lr, batch_size, seed
        Model size, the first round's epochs, the halving factor, the number of rounds and the training settings.

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> from mmcourse.data import as_tensors, load_interaction
    >>> data = load_interaction("synergy", n_train=64, n_val=32, n_test=8, cache=False)
    >>> result = search_fusion(as_tensors(data["train"]), as_tensors(data["validation"]),
    ...                        fusions=("additive", "tensor"), layers=(1,), epochs=1, rounds=1)
    >>> sorted(result.table.index), result.table.index[0] == str(result.best)
    (['additive @ layers (1, 1)', 'tensor @ layers (1, 1)'], True)
    """
    _check_data(train, "search_fusion")
    _check_data(val, "search_fusion (val)")
    fusions, layers = list(fusions), list(layers)
    unknown = [f for f in fusions if f not in FUSIONS]
    if not fusions or unknown:
        raise ValueError(f"search_fusion: fusions must be a non-empty list of names from FUSIONS "
                         f"({', '.join(FUSIONS)}); unknown: {unknown}")
    if not layers or any(isinstance(l, bool) or not isinstance(l, int) or l < 0 for l in layers):
        raise ValueError(f"search_fusion: layers must be a non-empty list of integers ≥ 0, got {layers}")
    for name, value in (("epochs", epochs), ("eta", eta)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (2 if name == "eta" else 1):
            raise ValueError(f"search_fusion: {name} must be an integer ≥ {2 if name == 'eta' else 1}, got {value!r}")
    xs, y = train
    num_classes = int(y.max()) + 1
    space = [Candidate(tuple(ls), f) for f in fusions for ls in itertools.product(layers, repeat=len(xs))]
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"search_fusion: rounds must be a positive integer, got {rounds!r}")
    result = successive_halving(space, lambda c: ComposedFusionModel([x[0] for x in xs], num_classes, c, width=width),
                                train, val, epochs=epochs, eta=eta, rounds=rounds, lr=lr, batch_size=batch_size,
                                seed=seed)
    by_name = {str(c): c for c in space}
    result.table.insert(0, "fusion", [by_name[name].fusion for name in result.table.index])
    result.table.insert(1, "layers", [str(by_name[name].layers) for name in result.table.index])
    return result
