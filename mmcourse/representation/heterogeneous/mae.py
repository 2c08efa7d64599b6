r"""A tiny multimodal masked autoencoder (Part 2.2): mask tokens of every modality, reconstruct them, fuse the rest.

Each modality is cut into tokens (:func:`patchify`: an 8×8 image into 2×2 patches, a 12×16 spectrogram into its 12
frames). All tokens go into one sequence; a random subset is hidden (:func:`random_token_mask`), a small transformer
encodes the visible tokens of *both* modalities together, and a light decoder predicts the hidden ones. The loss is
the mean squared error on the masked tokens only (:func:`masked_mse`). After pretraining, the mean of the encoder's
output tokens is a fused representation of the modalities it was fed (:meth:`MultimodalMAE.encode`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_int, check_module, check_number, check_same_rows, check_tensor
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["patchify", "random_token_mask", "masked_mse", "MultimodalMAE", "pretrain_mae", "linear_probe"]


def patchify(x: Tensor, patch: tuple[int, int]) -> Tensor:
    """Cut a batch of 2-D inputs ``(batch, H, W)`` into non-overlapping ``ph×pw`` patches, row by row.

    Returns ``(batch, (H/ph)·(W/pw), ph·pw)``: one token per patch, its pixels flattened row-major. A spectrogram
    ``(batch, T, F)`` cut with ``patch=(1, F)`` gives one token per time frame.

    Examples
    --------
    >>> x = torch.arange(16.).reshape(1, 4, 4)
    >>> patchify(x, (2, 2))[0, 1]  # the top-right patch
    tensor([2., 3., 6., 7.])
    """
    if not isinstance(x, Tensor) or x.dim() != 3:
        raise ValueError(f"patchify: x must be a tensor of shape (batch, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    if len(patch) != 2 or any(isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in patch):
        raise ValueError(f"patchify: patch must be two positive integers (ph, pw), got {patch!r}")
    check_tensor("patchify", "x", x, kind="any", nonempty=False)  # finite
    (b, h, w), (ph, pw) = x.shape, patch
    if h % ph or w % pw:
        raise ValueError(f"patchify: patch={patch} must divide the input's size (H, W)=({h}, {w})")
    return x.reshape(b, h // ph, ph, w // pw, pw).transpose(2, 3).reshape(b, (h // ph) * (w // pw), ph * pw)


def random_token_mask(batch: int, num_tokens: int, num_masked: int, *,
                      generator: torch.Generator | None = None, device=None) -> Tensor:
    """A boolean mask ``(batch, num_tokens)`` with exactly ``num_masked`` True (hidden) entries per row.

    Each row is a uniformly random subset: the ``num_masked`` tokens with the smallest of ``num_tokens`` i.i.d.
    uniform scores (MAE's "random shuffle" trick, which needs no loop over the batch).

    Examples
    --------
    >>> mask = random_token_mask(3, 10, 7, generator=torch.Generator().manual_seed(0))
    >>> mask.shape, mask.sum(1).tolist()
    (torch.Size([3, 10]), [7, 7, 7])
    """
    for name, value in (("batch", batch), ("num_tokens", num_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"random_token_mask: {name} must be a positive integer, got {value!r}")
    if isinstance(num_masked, bool) or not isinstance(num_masked, int) or not 0 <= num_masked <= num_tokens:
        raise ValueError(f"random_token_mask: num_masked must be an integer in [0, num_tokens={num_tokens}], "
                         f"got {num_masked!r}")
    # Drawn on the CPU (where a seeded generator lives), then moved: the same seed gives the same mask anywhere.
    scores = torch.rand(batch, num_tokens, generator=generator).to(device if device is not None else "cpu")
    ranks = scores.argsort(dim=1).argsort(dim=1)  # rank of each token's score within its row
    return ranks < num_masked


def masked_mse(prediction: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    r"""Mean squared error over the masked tokens only.

    .. math::

        \mathcal L = \frac{1}{|\mathcal M|} \sum_{(b, i) \in \mathcal M} \frac1d \lVert \hat x_{b,i} - x_{b,i}
        \rVert^2,

    with :math:`\mathcal M` the masked (True) positions of ``mask`` and ``d`` the token size. Visible tokens do not
    count: the model could copy them. With no masked token the loss is 0.

    Parameters
    ----------
    prediction, target : Tensor
        ``(batch, tokens, d)``.
    mask : Tensor
        Boolean ``(batch, tokens)``, True where a token was hidden.

    Examples
    --------
    >>> target = torch.zeros(1, 3, 2); prediction = torch.tensor([[[1., 1.], [2., 2.], [9., 9.]]])
    >>> masked_mse(prediction, target, torch.tensor([[True, True, False]]))  # (1 + 4) / 2; the 9s are visible
    tensor(2.5000)
    """
    check_tensor("masked_mse", "prediction", prediction, nonempty=False)
    check_tensor("masked_mse", "target", target, nonempty=False)
    check_tensor("masked_mse", "mask", mask, kind="any", nonempty=False)
    if prediction.shape != target.shape or prediction.dim() != 3:
        raise ValueError(f"masked_mse: prediction and target must have the same shape (batch, tokens, d), got "
                         f"{tuple(prediction.shape)} and {tuple(target.shape)}")
    if mask.shape != target.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(f"masked_mse: mask must be boolean of shape {tuple(target.shape[:2])}, got "
                         f"{mask.dtype} {tuple(mask.shape)}")
    per_token = ((prediction - target) ** 2).mean(-1)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)


class MultimodalMAE(nn.Module):
    r"""A multimodal masked autoencoder in the spirit of MultiMAE (Bachmann et al. 2022) and MAE (He et al. 2022).

    Token :math:`i` of modality :math:`m` becomes :math:`e_{m,i} = P_m x_{m,i} + p_{m,i} + q_m` (a linear
    projection, a learned position embedding and a learned modality embedding). A random subset
    :math:`\mathcal M` of all :math:`N = \sum_m N_m` tokens is hidden; a transformer encoder sees the visible
    tokens of all modalities together; the decoder puts a learned mask token (plus position and modality
    embeddings) at each hidden position, runs one transformer layer and predicts each token's pixels with a
    per-modality linear map :math:`\hat x_{m,i} = R_m u_{m,i}`. The loss sums :func:`masked_mse` over modalities:

    .. math::

        \mathcal L = \sum_m \frac{1}{|\mathcal M_m|} \sum_{(b,i) \in \mathcal M_m} \frac{1}{d_m}
        \lVert \hat x_{m,b,i} - x_{m,b,i} \rVert^2 .

    Book section: Part 2.2, *Fusion with heterogeneous modalities*.

    Parameters
    ----------
    token_shapes : sequence of (int, int)
        ``(N_m, d_m)`` per modality: its number of tokens and the size of one token.
    width : int
        The tokens' embedding size.
    depth : int
        Encoder layers (the decoder has one).
    heads : int
        Attention heads (must divide ``width``).
    mask_ratio : float
        Fraction of all tokens hidden during pretraining, in (0, 1).

    Examples
    --------
    >>> mae = MultimodalMAE([(16, 4), (12, 16)], width=8)
    >>> loss, reconstructions, mask = mae(torch.rand(5, 16, 4), torch.rand(5, 12, 16))
    >>> loss.dim(), [tuple(r.shape) for r in reconstructions], int(mask.sum(1)[0])  # 75% of 28 tokens hidden
    (0, [(5, 16, 4), (5, 12, 16)], 21)
    >>> mae.encode(torch.rand(5, 16, 4), None).shape  # the image alone
    torch.Size([5, 8])
    """

    def __init__(self, token_shapes: Sequence[tuple[int, int]], *, width: int = 32, depth: int = 1,
                 heads: int = 2, mask_ratio: float = 0.75):
        super().__init__()
        shapes = [tuple(s) for s in token_shapes]
        if not shapes or any(len(s) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in s)
                             for s in shapes):
            raise ValueError(f"MultimodalMAE: token_shapes must list (num_tokens, token_dim) pairs of positive "
                             f"integers, one per modality, got {token_shapes!r}")
        for name, value in (("width", width), ("depth", depth), ("heads", heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"MultimodalMAE: {name} must be a positive integer, got {value!r}")
        if width % heads:
            raise ValueError(f"MultimodalMAE: heads={heads} must divide width={width}")
        if not 0 < mask_ratio < 1:
            raise ValueError(f"MultimodalMAE: mask_ratio must lie in (0, 1), got {mask_ratio!r}")
        self.token_shapes, self.width, self.mask_ratio = shapes, width, float(mask_ratio)
        self.embed = nn.ModuleList(nn.Linear(d, width) for _, d in shapes)
        self.position = nn.ParameterList(nn.Parameter(0.02 * torch.randn(n, width)) for n, _ in shapes)
        self.modality = nn.Parameter(0.02 * torch.randn(len(shapes), width))
        self.mask_token = nn.Parameter(torch.zeros(width))

        def layer():
            return nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer(), depth, enable_nested_tensor=False)
        self.decoder = nn.TransformerEncoder(layer(), 1, enable_nested_tensor=False)
        self.reconstruct = nn.ModuleList(nn.Linear(width, d) for _, d in shapes)

    @property
    def num_tokens(self) -> int:
        """``N``, the number of tokens of all modalities together."""
        return sum(n for n, _ in self.token_shapes)

    def _check(self, xs: Sequence[Tensor | None], allow_missing: bool, where: str = "MultimodalMAE") -> None:
        if len(xs) != len(self.token_shapes):
            raise ValueError(f"{where}: expected {len(self.token_shapes)} modalities, got {len(xs)}")
        if all(x is None for x in xs) or (not allow_missing and any(x is None for x in xs)):
            raise ValueError(f"{where}: every modality is needed for pretraining" if not allow_missing
                             else f"{where}: give at least one modality (the others may be None)")
        for m, (x, shape) in enumerate(zip(xs, self.token_shapes), start=1):
            if x is not None and (not isinstance(x, Tensor) or x.dim() != 3 or tuple(x.shape[1:]) != shape):
                got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
                raise ValueError(f"{where}: modality {m} must have shape (batch, {shape[0]}, {shape[1]}), "
                                 f"got {got}")
        given = {f"modality {m}": x for m, x in enumerate(xs, start=1) if x is not None}
        for name, x in given.items():
            check_tensor(where, name, x)  # floating-point, non-empty and finite
        check_same_rows(where, **given)

    def tokens(self, *xs: Tensor | None) -> Tensor:
        """The embedded tokens ``e_{m,i}`` of the given modalities (``None``: left out), concatenated along the
        sequence: ``(batch, N', width)``."""
        return torch.cat([emb(x) + pos + self.modality[m] for m, (x, emb, pos)
                          in enumerate(zip(xs, self.embed, self.position)) if x is not None], dim=1)

    def encode(self, *xs: Tensor | None) -> Tensor:
        """The fused representation: the mean of the encoder's output over all tokens of the modalities given
        (no masking). Pass ``None`` for a modality to leave it out, e.g. ``encode(image_tokens, None)``."""
        self._check(xs, allow_missing=True)
        device = self.mask_token.device
        return self.encoder(self.tokens(*(None if x is None else x.to(device) for x in xs))).mean(dim=1)

    def forward(self, *xs: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, list[Tensor], Tensor]:
        """Mask, encode, decode. Returns ``(loss, reconstructions, mask)``: the scalar loss, one ``(batch, N_m,
        d_m)`` reconstruction per modality, and the boolean mask ``(batch, N)`` (True: hidden)."""
        self._check(xs, allow_missing=False)
        batch, n = xs[0].shape[0], self.num_tokens
        tokens = self.tokens(*xs)
        mask = random_token_mask(batch, n, round(self.mask_ratio * n), generator=generator, device=tokens.device)
        # Every row hides the same number of tokens, so the visible ones form a dense (batch, N - |M|, width) block.
        visible = tokens[~mask].reshape(batch, -1, self.width)
        encoded = self.encoder(visible)
        full = self.mask_token.expand(batch, n, self.width).clone()
        full[~mask] = encoded.reshape(-1, self.width)
        full = full + torch.cat([pos + self.modality[m] for m, pos in enumerate(self.position)], dim=0)
        decoded = self.decoder(full)
        reconstructions, loss, start = [], tokens.new_zeros(()), 0
        for m, ((n_m, _), head, x) in enumerate(zip(self.token_shapes, self.reconstruct, xs)):
            out = head(decoded[:, start:start + n_m])
            loss = loss + masked_mse(out, x, mask[:, start:start + n_m])
            reconstructions.append(out)
            start += n_m
        return loss, reconstructions, mask


def pretrain_mae(model: MultimodalMAE, xs: Sequence[Tensor], *, epochs: int = 30, lr: float = 3e-3,
                 batch_size: int = 128, seed: int = 0, device: torch.device | str | None = None) -> list[float]:
    """Pretrain ``model`` on unlabelled token tensors ``xs`` (one per modality) with Adam; returns the mean masked
    loss of each epoch.

    The shuffling and the masks come from a generator seeded with ``seed``. Training runs on ``device`` (default
    :func:`mmcourse.get_device`, the GPU when there is one); the model then goes back to the device it came from
    (see :func:`mmcourse.utils.trained_on`) in evaluation mode, ready for probing and plotting.

    Examples
    --------
    >>> mae = MultimodalMAE([(4, 2), (3, 5)], width=8)
    >>> losses = pretrain_mae(mae, [torch.rand(16, 4, 2), torch.rand(16, 3, 5)], epochs=2)
    >>> len(losses), mae.training
    (2, False)
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"pretrain_mae: epochs must be a positive integer, got {epochs!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"pretrain_mae: batch_size must be a positive integer, got {batch_size!r}")
    check_module("pretrain_mae", "model", model, MultimodalMAE)
    model._check(list(xs), allow_missing=False, where="pretrain_mae")
    lr = check_number("pretrain_mae", "lr", lr, low=0, low_open=True)
    seed = check_int("pretrain_mae", "seed", seed)
    generator = torch.Generator().manual_seed(seed)
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards
        xs = [x.to(device) for x in xs]
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        n, losses = xs[0].shape[0], []
        model.train()
        for _ in trange(epochs, disable=not progress_enabled(None), desc="MAE epochs", leave=False):
            order, total = torch.randperm(n, generator=generator).to(device), 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                loss, _, _ = model(*(x[idx] for x in xs), generator=generator)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            losses.append(total / n)
        model.eval()
    return losses


def linear_probe(train_features, train_labels, test_features, test_labels, *, per_class: int | None = None,
                 seed: int = 0) -> float:
    """Test accuracy of a logistic regression on frozen features, trained on few labels.

    The probe sees ``per_class`` randomly chosen labelled examples of each class (all of them with ``None``); the
    features are standardised first. This is how a self-supervised representation is judged: the less the probe
    needs, the more the representation already holds.

    Examples
    --------
    >>> x = np.r_[np.zeros((10, 2)), np.ones((10, 2))]; y = np.r_[np.zeros(10), np.ones(10)]
    >>> linear_probe(x, y, x, y, per_class=2)
    1.0
    """
    where = "linear_probe"
    seed = check_int(where, "seed", seed, low=0)
    arrays = {}
    for name, a in (("train_features", train_features), ("train_labels", train_labels),
                    ("test_features", test_features), ("test_labels", test_labels)):
        if isinstance(a, Tensor):
            a = a.detach().cpu()
        try:
            array = np.asarray(a)
        except (ValueError, TypeError) as exc:  # ragged nesting and the like
            raise ValueError(f"{where}: {name} must be a numeric array, got {type(a).__name__}") from exc
        if name.endswith("features") and array.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {name} must be a numeric array, got dtype {array.dtype}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
        arrays[name] = array
    xtr, ytr, xte, yte = arrays.values()
    if xtr.ndim != 2 or xte.ndim != 2 or ytr.ndim != 1 or yte.ndim != 1 or len(xtr) != len(ytr) \
            or len(xte) != len(yte) or xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"{where}: expected features (n, d) with n labels, got train {xtr.shape} with "
                         f"labels {ytr.shape} and test {xte.shape} with labels {yte.shape}")
    for name, x in (("train_features", xtr), ("test_features", xte)):
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{where}: {name} has no rows or no columns, got shape {x.shape}")
    if len(np.unique(ytr)) < 2:
        raise ValueError(f"{where}: train_labels hold a single class ({np.unique(ytr).tolist()}); a probe needs at "
                         f"least two")
    if per_class is not None:
        classes, counts = np.unique(ytr, return_counts=True)
        if isinstance(per_class, bool) or not isinstance(per_class, int) or not 1 <= per_class <= counts.min():
            raise ValueError(f"linear_probe: per_class must be an integer in [1, {counts.min()}] (the rarest "
                             f"class's count) or None, got {per_class!r}")
        rng = np.random.default_rng(seed)
        keep = np.concatenate([rng.choice(np.flatnonzero(ytr == c), per_class, replace=False) for c in classes])
        xtr, ytr = xtr[keep], ytr[keep]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(probe.fit(xtr, ytr).score(xte, yte))
