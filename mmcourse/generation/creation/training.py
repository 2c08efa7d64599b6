"""Part 5.3: training a joint generative model, and the chapter's models of the digits pair, ready made."""
from __future__ import annotations

import torch
from torch import Tensor
from tqdm.auto import trange

from mmcourse.generation.creation.models import MMVAE, MVAE, JointVAE
from mmcourse.utils import check_positive, get_device, progress_enabled, set_seed, trained_on

__all__ = ["fit_joint_vae", "digits_pair_tensors", "train_digits_mvae", "train_digits_mmvae"]

# The chapter's sizes: each model trains in a few seconds on one CPU thread. The image has 64 values and the audio
# 192: weighing the image's log-likelihood by 3 makes both modalities count alike (Shi et al.'s llik_scaling).
DIGITS_CONFIG = {"latent": 16, "width": 128, "scales": (3.0, 1.0), "batch_size": 128}
DIGITS_EPOCHS = {"MVAE": 120, "MMVAE": 60}
DIGITS_LR = {"MVAE": 8e-3, "MMVAE": 3e-3}
DIGITS_WARMUP = 20  # MVAE's KL annealing, in epochs


def fit_joint_vae(model: JointVAE, *xs: Tensor, epochs: int = 60, batch_size: int = 128, lr: float = 3e-3,
                  warmup: int = 0, device: torch.device | str | None = None,
                  progress: bool | None = None) -> list[float]:
    """Train an :class:`MVAE` or :class:`MMVAE` with Adam on its own ``model.loss(*batch)``; Part 5.3.

    Parameters
    ----------
    model : JointVAE
        The model; trained on ``device`` (default :func:`mmcourse.get_device`) and moved back afterwards.
    *xs : Tensor
        One tensor per modality, in the order of ``model.names``, same number of rows, values in [0, 1].
    epochs, batch_size, lr
        Optimisation settings; batches are reshuffled every epoch with torch's global generator.
    warmup : int
        MVAE only: the KL weight rises linearly from 0 to 1 over the first ``warmup`` epochs (KL annealing, as Wu
        and Goodman do), then stays 1. The losses of those epochs are of the annealed objective.
    progress : bool, optional
        A ``tqdm`` bar over epochs; ``None`` follows :func:`mmcourse.set_progress`.

    Returns
    -------
    list of float
        The mean training loss (negative objective, nats per pair) of every epoch.

    Example
    -------
    >>> model = MVAE(latent=2, width=8)
    >>> len(fit_joint_vae(model, torch.rand(16, 8, 8), torch.rand(16, 12, 16), epochs=2, progress=False))
    2
    """
    if not isinstance(model, JointVAE):
        raise TypeError(f"fit_joint_vae: model must be an MVAE or MMVAE, got {type(model).__name__}")
    check_positive("fit_joint_vae", epochs=epochs, batch_size=batch_size)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"fit_joint_vae: warmup must be a non-negative integer, got {warmup!r}")
    if warmup and not isinstance(model, MVAE):
        raise ValueError(f"fit_joint_vae: warmup anneals MVAE's KL term; {type(model).__name__} has none, use 0")
    if not lr > 0:
        raise ValueError(f"fit_joint_vae: lr must be positive, got {lr!r}")
    xs = model._check(xs, "fit_joint_vae")
    for name, x in zip(model.names, xs):
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"fit_joint_vae: {name} must lie in [0, 1] (a Bernoulli likelihood), got values in "
                             f"[{x.min().item():.3g}, {x.max().item():.3g}]")
    device = get_device(device)
    losses = []
    with trained_on(model, device):
        xs = [x.to(device) for x in xs]
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        n = len(xs[0])
        model.train()
        for epoch in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            order = torch.randperm(n).to(device)
            total = 0.0
            extra = {"beta": min(1.0, (epoch + 1) / (warmup + 1))} if warmup else {}
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                loss = model.loss(*(x[idx] for x in xs), **extra)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            losses.append(total / n)
        model.eval()
    return losses


def digits_pair_tensors(split: str = "train", seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """``(image (n, 8, 8), audio (n, 12, 16), label (n,))`` of one split of :func:`mmcourse.data.load_digits_pair`.

    Example
    -------
    >>> image, audio, label = digits_pair_tensors("test")
    >>> image.shape, audio.shape, label.shape
    (torch.Size([359, 8, 8]), torch.Size([359, 12, 16]), torch.Size([359]))
    """
    from mmcourse.data import load_digits_pair
    if split not in ("train", "validation", "test"):
        raise ValueError(f"digits_pair_tensors: split must be 'train', 'validation' or 'test', got {split!r}")
    data = load_digits_pair(seed=seed)[split]
    return data["image"][:].float(), data["audio"][:].float(), data["label"][:].long()


def _train(model: JointVAE, seed: int, epochs: int | None) -> JointVAE:
    image, audio, _ = digits_pair_tensors("train", seed=0)   # one dataset; the seed varies the training only
    set_seed(seed)
    kind = type(model).__name__
    fit_joint_vae(model, image, audio, epochs=epochs or DIGITS_EPOCHS[kind], batch_size=DIGITS_CONFIG["batch_size"],
                  lr=DIGITS_LR[kind], warmup=DIGITS_WARMUP if isinstance(model, MVAE) else 0)
    return model


def train_digits_mvae(seed: int = 0, unimodal: bool = True, epochs: int | None = None) -> MVAE:
    """The chapter's MVAE, trained on the digits pair's training split (data seed 0) with training seed ``seed``
    (120 epochs at learning rate 8e-3, KL warm-up over 20); ``unimodal=False`` drops the unimodal ELBO terms.
    Seconds on one CPU thread. Part 5.3.

    Example
    -------
    >>> train_digits_mvae(epochs=1).names      # one epoch, to try it out; the chapter trains 120
    ['image', 'audio']
    """
    set_seed(seed)
    model = MVAE(latent=DIGITS_CONFIG["latent"], width=DIGITS_CONFIG["width"], scales=DIGITS_CONFIG["scales"],
                 unimodal=unimodal)
    return _train(model, seed, epochs)


def train_digits_mmvae(seed: int = 0, k: int = 4, epochs: int | None = None) -> MMVAE:
    """The chapter's MMVAE (``k`` samples per expert, 60 epochs at learning rate 3e-3), trained like
    :func:`train_digits_mvae`. Part 5.3.

    Example
    -------
    >>> train_digits_mmvae(k=2, epochs=1).k      # one epoch, to try it out; the chapter trains 60
    2
    """
    set_seed(seed)
    model = MMVAE(latent=DIGITS_CONFIG["latent"], width=DIGITS_CONFIG["width"], scales=DIGITS_CONFIG["scales"],
                  k=k)
    return _train(model, seed, epochs)
