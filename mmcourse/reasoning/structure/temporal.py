r"""Part 4.1, temporal structure: recurrent fusion with a cross-modal memory, after the Memory Fusion Network.

Zadeh et al. (2018), "Memory Fusion Network for Multi-view Sequential Learning" (AAAI). A *system of recurrent
cells* reads each modality on its own; a *Delta-memory attention* looks at the cells' states at two consecutive
steps, :math:`c^{[t-1, t]} = [c_{t-1}; c_t]` with :math:`c_t = [h^{(1)}_t; \dots; h^{(M)}_t]`, and picks which
coordinates matter now; a *multi-view gated memory* :math:`u_t` keeps what they said, across modalities and time:

.. math::

    a_t = K\, \mathrm{softmax}\big(D_a(c^{[t-1,t]})\big), \qquad
    \hat c_t = a_t \odot c^{[t-1,t]}, \qquad \hat u_t = \tanh\big(D_u(\hat c_t)\big),

    \gamma_{1,t} = \sigma\big(D_{\gamma_1}([\hat c_t; u_{t-1}])\big), \qquad
    \gamma_{2,t} = \sigma\big(D_{\gamma_2}([\hat c_t; u_{t-1}])\big), \qquad
    u_t = \gamma_{1,t} \odot u_{t-1} + \gamma_{2,t} \odot \hat u_t,

with :math:`u_0 = 0`, :math:`c_0 = 0`, :math:`D_a` and :math:`D_u` two-layer ReLU networks, :math:`D_{\gamma_1}`
and :math:`D_{\gamma_2}` affine maps, the softmax over the :math:`K = 2 \sum_m H` coordinates, :math:`\gamma_1` the
*retain* gate and :math:`\gamma_2` the *update* gate. The output reads the final states and the memory,
:math:`\mathrm{logits} = W [h^{(1)}_T; \dots; h^{(M)}_T; u_T] + b`.

Five choices differ from the paper, on purpose:

- **GRU cells** where the paper uses LSTMs and attends over their cell memories: a GRU's state :math:`h_t` is its
  whole memory, so :math:`c_t = h_t` plays the same role; the baselines of
  :mod:`~mmcourse.reasoning.structure.recurrent` use the same cell (a fair comparison); and ``nn.GRU`` returns every
  state in one fused call, which keeps training in seconds.
- **The attention is scaled by** :math:`K` (the paper's weights sum to 1), so that uniform attention passes
  :math:`c` on unchanged: unscaled, :math:`\hat c` starts :math:`K` times smaller than :math:`c`, and training sits
  at chance for hundreds of steps while :math:`D_u` grows to undo it.
- **The retain gate starts open** (its bias at :data:`RETAIN_BIAS`, :math:`\sigma(2) \approx 0.88`), as an LSTM's
  forget gate often does, so that the memory keeps what it wrote from the first step.
- **Affine gates** (two-layer networks in the paper), as a GRU's are: they are the only part that runs once per step
  inside the loop over time; everything else runs on all steps at once.
- **A linear head** (an MLP in the paper), so that any interaction between the modalities must come through the
  memory, not through the head.

``window`` generalises :math:`[t-1, t]` to the last ``window`` steps (``window=2`` is the paper's).
"""
from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse._checks import check_module, check_tensor
from mmcourse.reasoning.structure.recurrent import EarlyFusionGRU, LateFusionGRU, _check_dims, check_sequences

RETAIN_BIAS = 2.0  # the retain gate's initial bias: σ(2) ≈ 0.88

__all__ = ["EarlyFusionGRU", "LateFusionGRU", "delta_memory_attention", "gated_memory_update", "MemoryFusionNetwork",
           "TEMPORAL_MODELS", "make_temporal_model"]


def delta_memory_attention(c_window: Tensor, attend: nn.Module) -> tuple[Tensor, Tensor]:
    """The Delta-memory attention: ``a = K softmax(D_a(c^[t-1,t]))`` over K coordinates, ``ĉ = a ⊙ c^[t-1,t]``.

    ``c_window`` holds ``[c_{t-1}; c_t]`` in its last axis (K coordinates); ``attend`` is the network ``D_a``.
    Returns the weights ``a`` and the attended states ``ĉ``, both shaped like ``c_window``.

    Examples
    --------
    >>> a, attended = delta_memory_attention(torch.ones(2, 4), nn.Linear(4, 4))
    >>> tuple(a.shape), round(a.sum(-1)[0].item(), 3)   # the weights sum to K = 4
    ((2, 4), 4.0)
    """
    check_tensor("delta_memory_attention", "c_window", c_window)
    if c_window.dim() == 0:
        raise ValueError("delta_memory_attention: c_window must have a last axis of K coordinates, got a scalar")
    check_module("delta_memory_attention", "attend", attend)
    a = c_window.shape[-1] * torch.softmax(attend(c_window), dim=-1)  # K ·: uniform weights leave c as it is
    return a, a * c_window


def gated_memory_update(u_prev: Tensor, u_hat: Tensor, gamma1: Tensor, gamma2: Tensor) -> Tensor:
    """The multi-view gated memory: ``u_t = γ1 ⊙ u_{t-1} + γ2 ⊙ û_t`` (retain the old, write the new).

    Examples
    --------
    >>> gated_memory_update(torch.ones(1, 2), torch.zeros(1, 2), torch.tensor([[1.0, 0.5]]), torch.ones(1, 2))
    tensor([[1.0000, 0.5000]])
    """
    for name, value in (("u_prev", u_prev), ("u_hat", u_hat), ("gamma1", gamma1), ("gamma2", gamma2)):
        check_tensor("gated_memory_update", name, value)
        if value.shape != u_prev.shape:
            raise ValueError(f"gated_memory_update: {name} must have the shape of u_prev, {tuple(u_prev.shape)}, "
                             f"got {tuple(value.shape)}")
    return gamma1 * u_prev + gamma2 * u_hat


def _mlp(d_in: int, width: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, d_out))


class MemoryFusionNetwork(nn.Module):
    r"""Memory Fusion Network (Zadeh et al. 2018) with GRU cells: per-modality GRUs, the Delta-memory attention over
    ``window`` consecutive states and the multi-view gated memory (equations in the module docstring).

    Book section: Part 4.1 (temporal structure: recurrent fusion with memory).

    Parameters
    ----------
    input_dims : sequence of int
        Feature size ``d_m`` of each modality's frames.
    num_classes : int
    hidden : int
        Size ``H`` of each modality's GRU state.
    memory : int
        Size of the memory ``u``.
    window : int
        Number of consecutive steps the attention sees (2 in the paper: ``[t-1, t]``).
    width : int
        Hidden width of the networks ``D_a`` and ``D_u``.

    Examples
    --------
    >>> model = MemoryFusionNetwork([4, 4], 2, hidden=8, memory=6)
    >>> x1, x2 = torch.zeros(3, 20, 4), torch.zeros(3, 20, 4)
    >>> model(x1, x2).shape, model.trace(x1, x2)["gamma2"].shape
    (torch.Size([3, 2]), torch.Size([3, 20, 6]))
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int, *, hidden: int = 16, memory: int = 16,
                 window: int = 2, width: int = 32):
        super().__init__()
        self.input_dims = _check_dims(input_dims, num_classes, "MemoryFusionNetwork", hidden=hidden,
                                      memory=memory, window=window, width=width)
        self.window, self.memory = int(window), int(memory)
        self.grus = nn.ModuleList(nn.GRU(d, hidden, batch_first=True) for d in self.input_dims)
        states = hidden * len(self.input_dims) * self.window  # the size of c^[t-w+1, t]
        self.attend = _mlp(states, width, states)  # D_a
        self.write = _mlp(states, width, memory)  # D_u
        # D_γ1 and D_γ2 side by side: one affine map of [ĉ_t; u_{t-1}] to [γ1 logits; γ2 logits].
        self.gates = nn.Linear(states + memory, 2 * memory)
        with torch.no_grad():  # start with the retain gate open, σ(2) ≈ 0.88
            self.gates.bias[:memory] += RETAIN_BIAS
        self.head = nn.Linear(hidden * len(self.input_dims) + memory, num_classes)

    def trace(self, *xs: Tensor) -> dict[str, Tensor]:
        """Every intermediate quantity, per step: ``states`` c_t ``(B, T, M·H)``, ``attention`` a_t and
        ``attended`` ĉ_t ``(B, T, window·M·H)``, ``u_hat``, ``gamma1``, ``gamma2`` and ``memory`` u_t
        ``(B, T, memory)``, and the ``logits`` ``(B, classes)``."""
        check_sequences(xs, self.input_dims, "MemoryFusionNetwork")
        c = torch.cat([gru(x)[0] for gru, x in zip(self.grus, xs)], dim=-1)  # c_t for t = 1 … T
        batch, steps, _ = c.shape
        padded = torch.cat([c.new_zeros(batch, self.window - 1, c.shape[-1]), c], dim=1)  # c_0 = … = 0
        c_window = torch.cat([padded[:, k:k + steps] for k in range(self.window)], dim=-1)  # [c_{t-w+1}; …; c_t]
        # The attention and the written content do not depend on the memory: compute them for all steps at once.
        attention, attended = delta_memory_attention(c_window, self.attend)
        u_hat = torch.tanh(self.write(attended))
        u = c.new_zeros(batch, self.memory)
        gammas1, gammas2, memories = [], [], []
        for t in range(steps):  # only the gates need the previous memory: a loop over time
            gamma1, gamma2 = torch.sigmoid(self.gates(torch.cat([attended[:, t], u], dim=-1))).chunk(2, dim=-1)
            u = gated_memory_update(u, u_hat[:, t], gamma1, gamma2)
            gammas1.append(gamma1), gammas2.append(gamma2), memories.append(u)
        logits = self.head(torch.cat([c[:, -1], u], dim=-1))
        return {"states": c, "attention": attention, "attended": attended, "u_hat": u_hat,
                "gamma1": torch.stack(gammas1, 1), "gamma2": torch.stack(gammas2, 1),
                "memory": torch.stack(memories, 1), "logits": logits}

    def forward(self, *xs: Tensor) -> Tensor:
        return self.trace(*xs)["logits"]


TEMPORAL_MODELS: dict[str, type[nn.Module]] = {
    "early": EarlyFusionGRU,
    "late": LateFusionGRU,
    "mfn": MemoryFusionNetwork,
}
"""The temporal fusion models of Part 4.1 by name; each is built as ``cls(input_dims, num_classes, **kwargs)`` and
called as ``model(x_1, …, x_M)`` on ``(batch, steps, d_m)`` sequences."""


def make_temporal_model(name: str, input_dims: Sequence[int], num_classes: int, **kwargs) -> nn.Module:
    """Build the temporal model registered as ``name``: ``TEMPORAL_MODELS[name](input_dims, num_classes, **kwargs)``.

    Parameters
    ----------
    name : str
        A key of :data:`TEMPORAL_MODELS`: ``"early"``, ``"late"`` or ``"mfn"``.
    input_dims : sequence of int
        Feature size of each modality's frames.
    num_classes : int
    **kwargs
        The model's own keywords (``hidden`` for all; ``layers`` for the GRU baselines; ``memory``, ``window``,
        ``width`` for the MFN).

    Returns
    -------
    nn.Module

    Examples
    --------
    >>> type(make_temporal_model("mfn", [4, 4], 2, window=3)).__name__
    'MemoryFusionNetwork'
    """
    if not isinstance(name, str) or name not in TEMPORAL_MODELS:
        raise ValueError(f"make_temporal_model: unknown name={name!r}; known: {', '.join(TEMPORAL_MODELS)}")
    cls = TEMPORAL_MODELS[name]
    allowed = {p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise TypeError(f"make_temporal_model: model {name!r} does not take {unknown}; it takes {sorted(allowed)}")
    return cls(input_dims, num_classes, **kwargs)
