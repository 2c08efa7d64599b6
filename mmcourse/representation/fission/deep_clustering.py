r"""Fine-grained fission (Part 2.5): deep multimodal clustering, DEC on the joint embedding of the modalities.

:class:`DeepMultimodalClustering` embeds each modality with its own encoder, assigns the joint embedding softly to
learned centres (:func:`~mmcourse.representation.fission.clustering.soft_assignment`), and
:func:`fit_deep_clustering` trains it in DEC's three stages (pretraining, k-means, refinement towards the target
distribution). No labels are used; :func:`~mmcourse.representation.fission.clustering.cluster_purity` grades the
result.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_int
from mmcourse.representation.fission.clustering import soft_assignment, target_distribution
from mmcourse.utils import check_modalities, get_device, progress_enabled, trained_on

__all__ = ["DeepMultimodalClustering", "ClusteringHistory", "fit_deep_clustering", "RECONSTRUCTIONS"]


RECONSTRUCTIONS = ("cross", "self")


class DeepMultimodalClustering(nn.Module):
    r"""DEC on the joint embedding of one encoder per modality, with cross-modal (or own-modality) decoders.

    Each modality :math:`x_m` (flattened) has an encoder :math:`z_m = \mathrm{BN}(E_m(x_m))` whose last layer is a
    batch normalisation without learned scale (every unit has mean 0 and variance 1, so no modality dominates the
    distances and the embedding cannot shrink onto the centres). The joint embedding
    :math:`z = [z_1; \dots; z_M]` is softly assigned to ``k`` learned centres
    :math:`\mu_j = [\mu_{j,1}; \dots; \mu_{j,M}]` by :func:`soft_assignment`. Since
    :math:`\lVert z - \mu_j \rVert^2 = \sum_m \lVert z_m - \mu_{j,m} \rVert^2`, a cluster must be close in
    *every* modality at once: each cluster is a fine-grained unit of the multimodal data.

    The decoders decide what the embedding keeps. With ``reconstruction="self"`` (plain DEC, one autoencoder per
    modality) :math:`\hat x_m = D_m(z_m)`, and :math:`z_m` keeps whatever varies most in :math:`x_m`, such as a
    writer's style or a speaker's pitch. With ``reconstruction="cross"`` (the default) :math:`\hat x_m` is decoded
    from the *other* modalities' embeddings, :math:`\hat x_m = D_m([z_{m'}]_{m' \ne m})`; a modality can only
    predict what it shares with the others, so :math:`z_m` keeps the shared content and drops its private
    variation, which is what a clustering of the pairs should follow. Training (:func:`fit_deep_clustering`)
    minimises

    .. math::

        \mathcal L = \mathrm{KL}(P \,\Vert\, Q) + \gamma \sum_m \tfrac{1}{d_m} \lVert x_m - \hat x_m \rVert^2,

    the DEC objective plus the reconstruction term kept during clustering as in IDEC (Guo et al., 2017), which
    keeps the embedding from drifting away from the data.

    Papers: J. Xie, R. Girshick, A. Farhadi (2016), "Unsupervised Deep Embedding for Clustering Analysis", ICML;
    X. Guo, L. Gao, X. Liu, J. Yin (2017), "Improved Deep Embedded Clustering with Local Structure Preservation",
    IJCAI. The cross-modal decoders follow the bimodal autoencoder of J. Ngiam et al. (2011), "Multimodal Deep
    Learning", ICML, which reconstructs both modalities from one.

    Book section: Part 2.5 Fission (fine-grained fission).

    Parameters
    ----------
    input_dims : sequence of int
        The flattened size ``d_m`` of each modality (at least 2 for ``"cross"``).
    num_clusters : int
        ``k ≥ 2``.
    embed_dim : int
        The size of each ``z_m``; default 10.
    hidden : int
        The hidden width of each encoder and decoder; default 64.
    alpha : float
        The Student-t degrees of freedom; default 1.
    reconstruction : {"cross", "self"}
        What each decoder reads: the other modalities' embeddings, or its own modality's.

    Examples
    --------
    >>> import torch
    >>> model = DeepMultimodalClustering((64, 192), num_clusters=10, embed_dim=4)
    >>> x1, x2 = torch.rand(5, 8, 8), torch.rand(5, 12, 16)
    >>> model.embed(x1, x2).shape, model(x1, x2).shape   # the joint embedding and the soft assignments
    (torch.Size([5, 8]), torch.Size([5, 10]))
    >>> [r.shape for r in model.reconstruct(x1, x2)]     # x₁ from z₂ and x₂ from z₁, flattened
    [torch.Size([5, 64]), torch.Size([5, 192])]
    """

    def __init__(self, input_dims: Sequence[int], num_clusters: int, *, embed_dim: int = 10, hidden: int = 64,
                 alpha: float = 1.0, reconstruction: str = "cross"):
        super().__init__()
        where = "DeepMultimodalClustering"
        if isinstance(input_dims, (str, bytes)) or not isinstance(input_dims, Sequence) or len(input_dims) < 1:
            raise ValueError(f"{where}: input_dims must list the flattened size of each modality, got "
                             f"{input_dims!r}")
        for name, value, low in [*((f"input_dims[{m}]", d, 1) for m, d in enumerate(input_dims)),
                                 ("num_clusters", num_clusters, 2), ("embed_dim", embed_dim, 1),
                                 ("hidden", hidden, 1)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{where}: {name} must be an integer ≥ {low}, got {value!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < float("inf"):
            raise ValueError(f"{where}: alpha must be a finite number > 0, got {alpha!r}")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"{where}: reconstruction must be one of {RECONSTRUCTIONS}, got {reconstruction!r}")
        if reconstruction == "cross" and len(input_dims) < 2:
            raise ValueError(f"{where}: reconstruction='cross' needs at least 2 modalities, got input_dims="
                             f"{tuple(input_dims)}; use reconstruction='self'")
        self.input_dims, self.num_clusters, self.alpha = tuple(input_dims), num_clusters, float(alpha)
        self.reconstruction = reconstruction
        reads = embed_dim * (len(self.input_dims) - 1) if reconstruction == "cross" else embed_dim
        self.encoders = nn.ModuleList(
            nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, embed_dim),
                          nn.BatchNorm1d(embed_dim, affine=False)) for d in self.input_dims)
        self.decoders = nn.ModuleList(nn.Sequential(nn.Linear(reads, hidden), nn.ReLU(), nn.Linear(hidden, d))
                                      for d in self.input_dims)
        self.centroids = nn.Parameter(torch.zeros(num_clusters, embed_dim * len(self.input_dims)))

    def _flat(self, xs: Sequence[Tensor]) -> list[Tensor]:
        for m, x in enumerate(xs, start=1):
            if isinstance(x, Tensor) and x.dim() >= 1 and len(x) == 0:
                raise ValueError(f"{type(self).__name__}: modality {m} is empty (shape {tuple(x.shape)}); it needs "
                                 f"at least one row")
        flat = [x.reshape(x.shape[0], -1) if isinstance(x, Tensor) and x.dim() >= 2 else x for x in xs]
        check_modalities(flat, self.input_dims, type(self).__name__)
        return flat

    def embeddings(self, *xs: Tensor) -> list[Tensor]:
        """The per-modality embeddings ``z_m``, each ``(batch, embed_dim)``."""
        return [E(x) for E, x in zip(self.encoders, self._flat(xs))]

    def embed(self, *xs: Tensor) -> Tensor:
        """The joint embedding ``z = [z₁; …; z_M]``, shape ``(batch, M·embed_dim)``."""
        return torch.cat(self.embeddings(*xs), dim=1)

    def reconstruct(self, *xs: Tensor) -> tuple[Tensor, ...]:
        """Each modality rebuilt (flattened) from the other modalities' embeddings, or from its own."""
        zs = self.embeddings(*xs)
        if self.reconstruction == "self":
            return tuple(D(z) for D, z in zip(self.decoders, zs))
        return tuple(D(torch.cat(zs[:m] + zs[m + 1:], dim=1)) for m, D in enumerate(self.decoders))

    def forward(self, *xs: Tensor) -> Tensor:
        """The soft assignments ``Q`` of the batch, shape ``(batch, num_clusters)``."""
        return soft_assignment(self.embed(*xs), self.centroids, self.alpha)

    @torch.no_grad()
    def predict(self, *xs: Tensor) -> Tensor:
        """The most likely cluster of each example (int64, on the CPU), computed in evaluation mode on the
        model's device."""
        was_training = self.training
        self.eval()
        device = self.centroids.device
        clusters = self(*(x.to(device) if isinstance(x, Tensor) else x for x in xs)).argmax(dim=1).cpu()
        self.train(was_training)
        return clusters

    def extra_repr(self) -> str:
        return (f"input_dims={self.input_dims}, num_clusters={self.num_clusters}, alpha={self.alpha}, "
                f"reconstruction={self.reconstruction!r}")


@dataclass
class ClusteringHistory:
    """Per-epoch losses: ``pretrain`` (reconstruction only), then ``kl`` and ``reconstruction`` while clustering."""

    pretrain: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)


def _reconstruction(model: DeepMultimodalClustering, xs: Sequence[Tensor]) -> Tensor:
    return sum(F.mse_loss(r, x.reshape(x.shape[0], -1)) for r, x in zip(model.reconstruct(*xs), xs))


def _batches(n: int, batch_size: int, device: torch.device):
    """Shuffled index batches; a last batch of one row is dropped (batch normalisation needs two)."""
    order = torch.randperm(n).to(device)
    return [order[i:i + batch_size] for i in range(0, n, batch_size) if min(batch_size, n - i) >= 2]


def fit_deep_clustering(model: DeepMultimodalClustering, inputs: Sequence[Tensor], *, pretrain_epochs: int = 100,
                        epochs: int = 30, lr: float = 1e-2, batch_size: int = 256, recon_weight: float = 1.0,
                        seed: int = 0, device: torch.device | str | None = None,
                        progress: bool | None = None) -> ClusteringHistory:
    """Train :class:`DeepMultimodalClustering` in DEC's three stages; no labels are used.

    1. Pretrain the autoencoders on reconstruction (``pretrain_epochs``).
    2. Put the centres at k-means (scikit-learn, ``n_init=10``, ``random_state=seed``) of the joint embeddings.
    3. For ``epochs`` epochs: compute the target ``P`` from the current ``Q`` of all the data (fixed for the epoch),
       then take Adam steps on ``KL(P‖Q) + recon_weight · reconstruction`` over the batches.

    Parameters
    ----------
    model : DeepMultimodalClustering
    inputs : sequence of torch.Tensor
        One tensor per modality, the same rows in each (any shape after the batch axis).
    pretrain_epochs, epochs : int
        ``epochs`` may be 0 (then the result is k-means on the pretrained embedding).
    lr, batch_size, recon_weight, seed
        The optimisation settings, ``γ`` and the seed of k-means.
    device, progress
        As in :func:`mmcourse.training.fit`: the model trains on ``device`` and goes back to the device it was on.

    Returns
    -------
    ClusteringHistory

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> x1, x2 = torch.rand(40, 6), torch.rand(40, 4)
    >>> model = DeepMultimodalClustering((6, 4), num_clusters=3, embed_dim=2, hidden=8)
    >>> history = fit_deep_clustering(model, [x1, x2], pretrain_epochs=3, epochs=2, progress=False)
    >>> len(history.pretrain), len(history.kl), model.predict(x1, x2).shape
    (3, 2, torch.Size([40]))
    """
    from sklearn.cluster import KMeans

    where = "fit_deep_clustering"
    if not isinstance(model, DeepMultimodalClustering):
        raise TypeError(f"{where}: model must be a DeepMultimodalClustering, got {type(model).__name__}")
    inputs = list(inputs)
    model._flat(inputs)   # checks the number of modalities, their sizes and batch sizes
    for name, value, low in (("pretrain_epochs", pretrain_epochs, 0), ("epochs", epochs, 0),
                             ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{where}: {name} must be an integer ≥ {low}, got {value!r}")
    if not lr > 0:
        raise ValueError(f"{where}: lr must be positive, got {lr!r}")
    if isinstance(recon_weight, bool) or not isinstance(recon_weight, (int, float)) or \
            not 0 <= recon_weight < float("inf"):
        raise ValueError(f"{where}: recon_weight must be a finite number ≥ 0, got {recon_weight!r}")
    check_int(where, "seed", seed, low=0, high=2**32 - 1)   # the range of k-means' random_state
    n = inputs[0].shape[0]
    if n < model.num_clusters:
        raise ValueError(f"{where}: need at least num_clusters={model.num_clusters} examples, got {n}")
    device = get_device(device)
    with trained_on(model, device):   # back on its own device afterwards, as in mmcourse.training.fit
        inputs = [x.to(device) for x in inputs]
        history = ClusteringHistory()
        show = progress_enabled(progress)

        autoencoders = [p for name, p in model.named_parameters() if name != "centroids"]
        optimizer = torch.optim.Adam(autoencoders, lr=lr)
        model.train()
        for _ in trange(pretrain_epochs, disable=not show, desc="pretrain", leave=False):
            total = 0.0
            for idx in _batches(n, batch_size, device):
                loss = _reconstruction(model, [x[idx] for x in inputs])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            history.pretrain.append(total / n)

        model.eval()   # the batch normalisation's running statistics, as at prediction time
        with torch.no_grad():
            z = model.embed(*inputs).cpu().double().numpy()
        kmeans = KMeans(model.num_clusters, n_init=10, random_state=seed).fit(z)
        with torch.no_grad():
            model.centroids.copy_(torch.as_tensor(kmeans.cluster_centers_, dtype=model.centroids.dtype))

        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in trange(epochs, disable=not show, desc="cluster", leave=False):
            model.eval()
            with torch.no_grad():
                target = target_distribution(model(*inputs))   # P, fixed during the epoch
            model.train()
            kl_sum, rec_sum = 0.0, 0.0
            for idx in _batches(n, batch_size, device):
                batch = [x[idx] for x in inputs]
                q = model(*batch)
                kl = F.kl_div(q.clamp_min(1e-12).log(), target[idx], reduction="batchmean")   # KL(P‖Q)
                rec = _reconstruction(model, batch)
                optimizer.zero_grad(set_to_none=True)
                (kl + recon_weight * rec).backward()
                optimizer.step()
                kl_sum, rec_sum = kl_sum + kl.item() * len(idx), rec_sum + rec.item() * len(idx)
            history.kl.append(kl_sum / n)
            history.reconstruction.append(rec_sum / n)
    return history
