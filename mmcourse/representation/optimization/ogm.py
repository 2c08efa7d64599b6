r"""OGM-GE: on-the-fly gradient modulation with generalization enhancement (Peng et al., CVPR 2022).

At every training step, each branch :math:`u` of a late-fusion model scores how well it alone predicts the batch,

.. math::

    s_u = \sum_{i \in \text{batch}} \mathrm{softmax}\big(g_u(x_u^{(i)})\big)_{y_i},

the discrepancy ratio compares it with the other modalities, :math:`\rho_u = s_u / \overline{s}_{-u}` (for two
modalities :math:`\rho_a = s_a / s_v`), and the gradient of the branch that leads is slowed down:

.. math::

    k_u = \begin{cases} 1 - \tanh(\alpha\, \rho_u) & \rho_u > 1 \\ 1 & \text{otherwise,} \end{cases}
    \qquad \nabla_{\theta_u} \leftarrow k_u\, \nabla_{\theta_u} + h, \quad h \sim \mathcal N\big(0, \hat\sigma^2
    (\nabla_{\theta_u})\, I\big).

This is Eq. (10) of the paper as its authors' code states it (``1 - tanh(alpha * relu(ratio))``). Some later
re-implementations use :math:`1 - \tanh(\alpha(\rho_u - 1))`, which is continuous at :math:`\rho_u = 1`;
``centered=True`` gives that variant. The added Gaussian noise ("generalization enhancement", GE) has the standard
deviation of the gradient tensor itself, as in the authors' code: it restores the gradient noise that the
smaller step took away, which the paper argues helps generalization.

Note that OGM-GE is meant for SGD: an adaptive optimizer such as Adam divides every gradient by its own running
scale and so undoes most of a constant factor :math:`k_u`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from mmcourse._checks import check_ids, check_tensor

__all__ = ["branch_scores", "discrepancy_ratios", "ogm_coefficients", "modulate_gradients"]


def branch_scores(branch_logits: Sequence[Tensor], labels: Tensor) -> Tensor:
    r""":math:`s_u = \sum_i \mathrm{softmax}(g_u^{(i)})_{y_i}` for every branch: a tensor of shape ``(M,)``.

    Examples
    --------
    >>> branch_scores([torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 100.0]])], torch.tensor([1]))
    tensor([0.5000, 1.0000])
    """
    if not isinstance(labels, Tensor) or labels.dim() != 1:
        raise ValueError(f"branch_scores: labels must be a 1-D tensor, got {getattr(labels, 'shape', labels)!r}")
    if len(branch_logits) < 2:
        raise ValueError(f"branch_scores: branch_logits must hold at least 2 branches, got {len(branch_logits)}")
    for m, g in enumerate(branch_logits, start=1):
        check_tensor("branch_scores", f"branch_logits[{m - 1}]", g, nonempty=False)
        if g.dim() != 2 or g.shape[0] != labels.shape[0]:
            raise ValueError(f"branch_scores: branch {m} logits must have shape ({labels.shape[0]}, classes), got "
                             f"{tuple(g.shape)}")
    check_ids("branch_scores", "labels", labels, branch_logits[0].shape[1], nonempty=False)
    return torch.stack([g.detach().softmax(1).gather(1, labels[:, None]).sum() for g in branch_logits])


def discrepancy_ratios(scores: Tensor | Sequence[float]) -> Tensor:
    r""":math:`\rho_u = s_u / \mathrm{mean}_{j \ne u}\, s_j`; for two modalities :math:`(s_1/s_2,\ s_2/s_1)`.

    Examples
    --------
    >>> discrepancy_ratios([3.0, 1.5])
    tensor([2.0000, 0.5000])
    """
    s = torch.as_tensor(scores, dtype=torch.get_default_dtype()).flatten()
    if s.numel() < 2 or not torch.isfinite(s).all() or (s <= 0).any():
        raise ValueError(f"discrepancy_ratios: scores must be ≥ 2 positive finite numbers, got {s.tolist()}")
    others = (s.sum() - s) / (s.numel() - 1)
    return s / others


def ogm_coefficients(scores: Tensor | Sequence[float], alpha: float, *, centered: bool = False) -> Tensor:
    r"""The OGM coefficients :math:`k_u`: :math:`1 - \tanh(\alpha \rho_u)` where :math:`\rho_u > 1`, else 1.

    Parameters
    ----------
    scores : tensor or sequence of float
        The branch scores :math:`s_u` (:func:`branch_scores`), all positive.
    alpha : float
        :math:`\alpha \ge 0`, the strength of the modulation.
    centered : bool
        Use :math:`1 - \tanh(\alpha(\rho_u - 1))` instead (continuous at :math:`\rho_u = 1`).

    Examples
    --------
    >>> ogm_coefficients([3.0, 1.5], alpha=0.5)  # rho = (2, 0.5): 1 - tanh(1) = 0.2384 for the leader
    tensor([0.2384, 1.0000])
    >>> ogm_coefficients([3.0, 1.5], alpha=0.5, centered=True)  # 1 - tanh(0.5)
    tensor([0.5379, 1.0000])
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < float("inf"):
        raise ValueError(f"ogm_coefficients: alpha must be a finite number ≥ 0, got {alpha!r}")
    rho = discrepancy_ratios(scores)
    slowed = 1 - torch.tanh(alpha * ((rho - 1) if centered else rho))
    return torch.where(rho > 1, slowed, torch.ones_like(rho))


def _branch_parameters(branch, u: int) -> list[Tensor]:
    """The parameters of ``branches[u]``: a module's, or those an iterable holds (e.g. ``model.parameters()``)."""
    if isinstance(branch, nn.Module):
        return list(branch.parameters())
    params = list(branch) if isinstance(branch, Iterable) and not isinstance(branch, (str, bytes, Tensor)) else None
    if params is None or not all(isinstance(p, Tensor) for p in params):
        raise TypeError(f"modulate_gradients: branches[{u}] must be an nn.Module or an iterable of parameters, got "
                        f"{type(branch).__name__}")
    return params


def modulate_gradients(branches: Sequence[nn.Module | Iterable[nn.Parameter]], coefficients: Tensor | Sequence[float],
                       *, noise: bool = True, generator: torch.Generator | None = None) -> None:
    r"""In place, after ``backward()``: :math:`\nabla_{\theta_u} \leftarrow k_u \nabla_{\theta_u}` (+ GE noise).

    Parameters
    ----------
    branches : sequence of nn.Module (or of iterables of parameters)
        The parameters of each modality's branch, in the order of ``coefficients``.
    coefficients : tensor or sequence of float
        :math:`k_u`, one per branch (:func:`ogm_coefficients`).
    noise : bool
        Generalization enhancement: add :math:`\mathcal N(0, \hat\sigma^2)` to each modulated gradient tensor,
        :math:`\hat\sigma` the standard deviation of that tensor's entries (after scaling).
    generator : torch.Generator, optional
        For the noise.

    Examples
    --------
    >>> a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    >>> for p in [*a.parameters(), *b.parameters()]: p.grad = torch.ones_like(p)
    >>> modulate_gradients([a, b], [0.25, 1.0], noise=False)
    >>> a.weight.grad, b.weight.grad
    (tensor([[0.2500, 0.2500]]), tensor([[1., 1.]]))
    """
    params = [_branch_parameters(branch, u) for u, branch in enumerate(branches)]
    k = torch.as_tensor(coefficients, dtype=torch.get_default_dtype()).flatten()
    if k.numel() != len(branches):
        raise ValueError(f"modulate_gradients: got {len(branches)} branches but {k.numel()} coefficients")
    if not torch.isfinite(k).all() or (k < 0).any():
        raise ValueError(f"modulate_gradients: coefficients must be finite and ≥ 0, got {k.tolist()}")
    for branch_params, coefficient in zip(params, k.tolist()):
        for p in branch_params:
            if p.grad is None:
                continue
            p.grad.mul_(coefficient)
            if noise and p.grad.numel() > 1:
                std = p.grad.std().item()
                p.grad.add_(std * torch.randn(p.grad.shape, generator=generator, dtype=p.grad.dtype,
                                              device=p.grad.device if generator is None else "cpu")
                            .to(p.grad.device))
