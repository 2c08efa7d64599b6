r"""Sequences for Part 3 (alignment): pairs recorded at different rates with a known warp, and a tiny "speech".

**Warped pairs.** One underlying signal :math:`s(\tau)`, :math:`\tau \in [0, 1]`, is recorded twice: ``x`` by a
clock that ticks evenly, :math:`t_i = i / (n - 1)`, and ``y`` by a clock that speeds up and slows down,
:math:`\tau_j = \varphi(u_j)` with :math:`u_j = j / (m - 1)` and a random monotone time map

.. math::

    \varphi(u) = \frac{\int_0^u e^{g(v)} dv}{\int_0^1 e^{g(v)} dv}, \qquad
    g(v) = A \sin(2\pi f v + p), \quad A \sim U(0.4, 0.9) \log 2, \; f \sim U(0.5, 1.5), \; p \sim U(0, 2\pi),

so that the speed of ``y``'s clock against ``x``'s varies between about 0.5 and 2. The warping path comes first:
starting at :math:`(0, 0)`, it takes whichever of the steps :math:`(1, 1)`, :math:`(1, 0)`, :math:`(0, 1)` lands on
the cell whose two clock times are closest, :math:`\arg\min |t_{i'} - \tau_{j'}|` (ties to the diagonal), until
:math:`(n - 1, m - 1)`. Cutting the path at its diagonal steps gives *blocks*: runs of cells in which one recorder
holds still while the other moves. Every step of ``x`` and of ``y`` lies in exactly one block, and both recorders
hold the signal's value at the block's time :math:`T_b` (the mean clock time of its cells), a sample-and-hold:

.. math::

    x_i = s(T_{b(i)}) + \sigma \varepsilon_i, \qquad y_j = s(T_{b(j)}) + \sigma \eta_j, \qquad
    \varepsilon_i, \eta_j \sim \mathcal N(0, I_d).

So with :math:`\sigma = 0` every cell of the path has :math:`x_i = y_j` exactly: its DTW cost is 0 and DTW finds it
(or another path of cost 0 where the signal repeats a value). The signal, per feature :math:`k`:

- ``"sinusoid"``: :math:`s_k(\tau) = \sum_{l=1}^{L} a_{kl} \sin(2\pi \omega_{kl} \tau + \phi_{kl})`, with
  :math:`L \in \{2, 3\}`, :math:`a \sim U(0.5, 1)`, :math:`\omega \sim U(0.5, 3)` cycles, :math:`\phi \sim U(0, 2\pi)`.
- ``"events"``: piecewise-constant levels, :math:`s(\tau) = \ell_r` for :math:`c_r \le \tau < c_{r+1}`, with 2 to 4
  jump times :math:`c_r \sim U(0.1, 0.9)` (at least 0.08 apart) and levels :math:`\ell_r \sim \mathcal N(0, I_d)`.

**Labels of** :func:`load_sequences`. Each pair also carries one *event*, a bump
:math:`h\, e^{-(\tau - c)^2 / 2 w^2}` (:math:`h = 2`, :math:`w = 0.03`) added to every feature, at time :math:`c_x` in
``x`` and :math:`c_y` in ``y`` (underlying time). A pair :math:`(a, b) \sim U(0.15, 0.85)^2` is drawn until
:math:`|a - b| \ge 0.25`; :math:`c_x = a`, and label 1 (the two bumps are one event) sets :math:`c_y = a`, label 0
sets :math:`c_y = b`. Each sequence alone has exactly one bump, whose time has the same distribution under both
labels, so the label is invisible to either alone; it needs the two sequences aligned (the Part 3.3 toy). For
label-0 pairs the two recordings differ near the bumps, so their noise-free DTW cost is not 0; ``warp`` is still the
generating path of the clocks.

**Speech.** :func:`load_speech` renders a string of 1 to ``max_symbols`` symbols from :math:`\{1, \dots, V\}`
as ``frames`` feature vectors: symbol :math:`v` is its fixed prototype :math:`\mu_v \sim \mathcal N(0, I)`, held
for at least 2 frames; silence (the CTC blank, symbol 0) is a prototype :math:`\mu_0` of its own, at least one
frame between any two symbols and at each end; every frame gets noise :math:`\sigma \varepsilon`. The ``alignment``
column is the symbol of every frame, so ``ctc_collapse(alignment) == target``.
"""
from __future__ import annotations

import numpy as np
from datasets import Array2D, ClassLabel, DatasetDict, Features, List, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, split_rngs, to_dataset_dict

__all__ = ["SEQUENCE_KINDS", "make_warped_pair", "load_sequences", "load_speech", "speech_prototypes"]

SEQUENCE_KINDS = ("sinusoid", "events")

SPEED_RANGE = 2.0  # the clock of y runs between 1/2 and 2 times as fast as x's (before normalisation)
TIME_GRID = 1024  # points of the fine grid on which the time map is integrated
EVENT_HEIGHT = 2.0  # height h of the bump that carries the label of load_sequences
EVENT_WIDTH = 0.03  # its width w, in underlying time
EVENT_GAP = 0.25  # in a label-0 pair the two bumps are at least this far apart
MIN_SYMBOL_FRAMES = 2  # a spoken symbol lasts at least two frames
MIN_SILENCE_FRAMES = 1  # and silence separates symbols, and pads both ends, by at least one frame


# --- checks ---------------------------------------------------------------------------------------------------------

def _check_int(where: str, minimum: int, **values: object) -> dict[str, int]:
    for arg, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{where}: {arg} must be an integer >= {minimum}, got {arg}={v!r}")
    return {arg: int(v) for arg, v in values.items()}


def _check_noise(noise: object, where: str) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got noise={noise!r}")
    return float(noise)


def _check_kind(kind: object, where: str) -> str:
    if not isinstance(kind, str) or kind not in SEQUENCE_KINDS:
        raise ValueError(f"{where}: unknown kind={kind!r}; expected one of {list(SEQUENCE_KINDS)}")
    return kind


# --- warped pairs -----------------------------------------------------------------------------------------------------

def _time_map(rng: np.random.Generator, m: int) -> np.ndarray:
    """The clock times ``τ_j = φ(j / (m − 1))`` of y: a random monotone map of [0, 1] onto itself."""
    grid = np.linspace(0.0, 1.0, TIME_GRID)
    amplitude = rng.uniform(0.4, 0.9) * np.log(SPEED_RANGE)
    log_speed = amplitude * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * grid + rng.uniform(0, 2 * np.pi))
    speed = np.exp(log_speed)
    phi = np.concatenate([[0.0], np.cumsum((speed[1:] + speed[:-1]) / 2 * np.diff(grid))])
    phi /= phi[-1]
    return np.interp(np.linspace(0.0, 1.0, m), grid, phi)


def _walk(t: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """The warping path: from (0, 0), step to the neighbour whose clock times are closest (ties to the diagonal)."""
    n, m = len(t), len(tau)
    i = j = 0
    path = [(0, 0)]
    while (i, j) != (n - 1, m - 1):
        if i == n - 1:
            j += 1
        elif j == m - 1:
            i += 1
        else:
            gaps = (abs(t[i + 1] - tau[j + 1]), abs(t[i + 1] - tau[j]), abs(t[i] - tau[j + 1]))
            step = int(np.argmin(gaps))  # argmin returns the first minimum: the diagonal wins ties
            i, j = (i + 1, j + 1) if step == 0 else (i + 1, j) if step == 1 else (i, j + 1)
        path.append((i, j))
    return np.array(path, dtype=np.int64)


def _block_times(path: np.ndarray, t: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The held time of every step of x and of y: the mean clock time of the block (cut at diagonals) it lies in."""
    steps = np.diff(path, axis=0)
    block = np.concatenate([[0], np.cumsum((steps == 1).all(axis=1))])
    cell_time = (t[path[:, 0]] + tau[path[:, 1]]) / 2
    block_time = np.bincount(block, weights=cell_time) / np.bincount(block)
    held = block_time[block]
    tx, ty = np.empty(len(t)), np.empty(len(tau))
    tx[path[:, 0]] = held  # every cell of one step of x lies in the same block, so the writes agree
    ty[path[:, 1]] = held
    return tx, ty


def _signal(rng: np.random.Generator, kind: str, d: int):
    """A random signal ``s(τ)``: a function from times, shape (k,), to values, shape (k, d)."""
    if kind == "sinusoid":
        terms = rng.integers(2, 4, size=d)  # 2 or 3 sinusoids per feature
        a = rng.uniform(0.5, 1.0, size=(d, 3)) * (np.arange(3) < terms[:, None])
        omega = rng.uniform(0.5, 3.0, size=(d, 3))
        phase = rng.uniform(0.0, 2 * np.pi, size=(d, 3))
        return lambda tau: (a * np.sin(2 * np.pi * omega * tau[:, None, None] + phase)).sum(-1)
    jumps = rng.integers(2, 5)  # 2 to 4 jumps
    while True:
        times = np.sort(rng.uniform(0.1, 0.9, size=jumps))
        if np.diff(times).min(initial=1.0) >= 0.08:
            break
    levels = rng.standard_normal((jumps + 1, d))
    return lambda tau: levels[np.searchsorted(times, tau, side="right")]


def _bump(tau: np.ndarray, centre: float) -> np.ndarray:
    return EVENT_HEIGHT * np.exp(-((tau - centre) ** 2) / (2 * EVENT_WIDTH ** 2))


def _pair(rng: np.random.Generator, kind: str, n: int, m: int, d: int, noise: float,
          with_event: bool) -> dict:
    t = np.linspace(0.0, 1.0, n)
    tau = _time_map(rng, m)
    path = _walk(t, tau)
    tx, ty = _block_times(path, t, tau)
    s = _signal(rng, kind, d)
    x, y = s(tx), s(ty)
    out = {}
    if with_event:
        label = int(rng.integers(2))
        # Two times at least EVENT_GAP apart, drawn the same way for both labels, so that where the bump sits in
        # one sequence alone has the same distribution under either label.
        cx, other = rng.uniform(0.15, 0.85, size=2)
        while abs(other - cx) < EVENT_GAP:
            cx, other = rng.uniform(0.15, 0.85, size=2)
        cy = cx if label == 1 else other
        x = x + _bump(tx, cx)[:, None]
        y = y + _bump(ty, cy)[:, None]
        out["label"] = label
    x = x + noise * rng.standard_normal(x.shape)
    y = y + noise * rng.standard_normal(y.shape)
    return {"x": x.astype(np.float32), "y": y.astype(np.float32), "warp": path, **out}


def make_warped_pair(kind: str = "sinusoid", *, n: int = 60, m: int = 90, d: int = 2, noise: float = 0.05,
                     seed: int = 0) -> dict:
    """One pair of recordings of the same signal at different rates, and the warping path that generated them.

    See the module docstring for the construction: ``y``'s clock runs between about 1/2 and 2 times as fast as
    ``x``'s, the path follows the two clocks, and both recorders hold the signal's value along each stretch of the
    path where the other one moves, so that without noise ``x[i] == y[j]`` for every ``(i, j)`` of the path.

    Book section: Part 3.2 Continuous alignment (warping).

    Parameters
    ----------
    kind : str
        One of :data:`SEQUENCE_KINDS`: ``"sinusoid"`` (2 or 3 sinusoids per feature) or ``"events"``
        (piecewise-constant levels with 2 to 4 jumps).
    n, m : int
        Lengths of ``x`` and ``y``, each at least 2.
    d : int
        Number of features, at least 1.
    noise : float
        Standard deviation σ ≥ 0 of the Gaussian noise added to every value of x and y.
    seed : int
        Seeds the time map, the signal and the noise.

    Returns
    -------
    dict
        ``x``: float32 array (n, d); ``y``: float32 array (m, d); ``warp``: the generating path, a list of
        ``(i, j)`` int pairs from ``(0, 0)`` to ``(n − 1, m − 1)`` with steps ``(1, 0)``, ``(0, 1)``, ``(1, 1)``.
        With ``noise=0``, ``mmcourse.alignment.dtw(x, y)`` has cost 0 and returns ``warp`` or, where the signal
        repeats a value (always inside the flat stretches of ``"events"``), another path of cost 0.

    Examples
    --------
    >>> pair = make_warped_pair(n=5, m=8, noise=0.0)
    >>> pair["x"].shape, pair["y"].shape, pair["warp"][0], pair["warp"][-1]
    ((5, 2), (8, 2), (0, 0), (4, 7))
    """
    where = "make_warped_pair"
    kind = _check_kind(kind, where)
    n, m = _check_int(where, 2, n=n, m=m).values()
    d = _check_int(where, 1, d=d)["d"]
    noise = _check_noise(noise, where)
    seed = check_seed(seed, where)
    pair = _pair(np.random.default_rng(seed), kind, n, m, d, noise, with_event=False)
    pair["warp"] = [(int(i), int(j)) for i, j in pair["warp"]]
    return pair


def load_sequences(kind: str = "sinusoid", *, n_train: int = 200, n_val: int = 50, n_test: int = 100, n: int = 60,
                   m: int = 90, d: int = 2, noise: float = 0.05, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) many warped pairs, each with one event per sequence and a label.

    Each row is a pair built as by :func:`make_warped_pair`, plus a bump (the *event*) in each sequence; the label
    says whether the two bumps are the same event, at the same underlying time (1), or not (0, at least 0.25
    apart). See the module docstring for the equations.

    Book section: Part 3.2 (warping) and 3.3 (contextualised representations: unaligned sequences whose label
    depends on an event seen across both).

    Parameters
    ----------
    kind : str
        One of :data:`SEQUENCE_KINDS`.
    n_train, n_val, n_test : int
        Number of pairs in the ``train``, ``validation`` and ``test`` splits.
    n, m, d, noise : int, int, int, float
        As in :func:`make_warped_pair`.
    seed : int
        Seeds every pair; each split is drawn from its own stream, so changing ``n_train`` leaves the test set as
        it was.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``x`` (``Array2D`` (n, d)
        float32), ``y`` (``Array2D`` (m, d) float32), ``warp`` (a variable-length list of ``[i, j]`` int32 pairs,
        the generating path) and ``label`` (``ClassLabel`` with names ``["apart", "together"]``).

    Examples
    --------
    >>> ds = load_sequences(n_train=4, n_val=2, n_test=2, cache=False)
    >>> ds["train"]["x"][:].shape, ds["train"]["y"][:].shape, ds["train"][0]["warp"][-1].tolist()
    (torch.Size([4, 60, 2]), torch.Size([4, 90, 2]), [59, 89])
    """
    where = "load_sequences"
    kind = _check_kind(kind, where)
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    n, m = _check_int(where, 2, n=n, m=m).values()
    d = _check_int(where, 1, d=d)["d"]
    noise = _check_noise(noise, where)
    seed = check_seed(seed, where)
    params = {**sizes, "n": n, "m": m, "d": d, "noise": noise, "seed": seed}
    return cached(f"sequences-{kind}", params, lambda: _generate_sequences(kind, **params), cache)


def _generate_sequences(kind: str, *, n_train: int, n_val: int, n_test: int, n: int, m: int, d: int, noise: float,
                        seed: int) -> DatasetDict:
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, rng in split_rngs(np.random.default_rng(seed)).items():
        pairs = [_pair(rng, kind, n, m, d, noise, with_event=True) for _ in range(sizes[split])]
        columns[split] = {"x": np.stack([p["x"] for p in pairs]), "y": np.stack([p["y"] for p in pairs]),
                          "warp": [p["warp"].astype(np.int32) for p in pairs],
                          "label": np.array([p["label"] for p in pairs], dtype=np.int64)}
    features = Features({"x": Array2D((n, d), "float32"), "y": Array2D((m, d), "float32"),
                         "warp": List(List(Value("int32"), length=2)),
                         "label": ClassLabel(names=["apart", "together"])})
    return to_dataset_dict(columns, features)


# --- speech -----------------------------------------------------------------------------------------------------------

def load_speech(*, n_train: int = 300, n_val: int = 100, n_test: int = 200, frames: int = 30, features: int = 8,
                vocab: int = 4, max_symbols: int = 4, noise: float = 0.3, seed: int = 0,
                cache: bool = True) -> DatasetDict:
    """Load (generate on first use) a tiny "speech": strings of symbols rendered as frames, with their segmentation.

    Each sample is a string of 1 to ``max_symbols`` symbols drawn uniformly from ``1 … vocab`` (0 is the CTC
    blank). Symbol ``v`` sounds as its fixed random prototype ``μ_v ~ N(0, I)`` held for at least 2 frames; silence
    is a prototype ``μ_0`` of its own, at least one frame at each end and between any two symbols (so repeated
    symbols stay apart, as CTC needs). The frames left over are spread at random, three times as likely on a
    symbol as on a silence. Every frame gets Gaussian noise of standard deviation ``noise``.

    Book section: Part 3.2 Continuous alignment (segmentation, CTC).

    Parameters
    ----------
    n_train, n_val, n_test : int
        Number of samples in the ``train``, ``validation`` and ``test`` splits.
    frames : int
        Frames per sample; at least ``3 * max_symbols + 1`` (2 frames per symbol, the silences between and
        around).
    features : int
        Features per frame, at least 1.
    vocab : int
        Number of symbols, at least 1 (classes ``1 … vocab``; 0 is silence).
    max_symbols : int
        Longest string, at least 1; lengths are uniform in ``1 … max_symbols``.
    noise : float
        Standard deviation ≥ 0 of the noise on every feature of every frame.
    seed : int
        Seeds the prototypes (drawn first) and every sample (each split from its own stream).
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``frames`` (``Array2D``
        (frames, features) float32), ``target`` (a variable-length list of int32 symbols in ``1 … vocab``) and
        ``alignment`` (int32, length ``frames``: the symbol of every frame, 0 for silence).

    Examples
    --------
    >>> ds = load_speech(n_train=3, n_val=2, n_test=2, cache=False)
    >>> ds["train"]["frames"][:].shape, ds["train"]["alignment"][:].shape
    (torch.Size([3, 30, 8]), torch.Size([3, 30]))
    """
    where = "load_speech"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    dims = _check_int(where, 1, features=features, vocab=vocab, max_symbols=max_symbols)
    needed = (MIN_SYMBOL_FRAMES + MIN_SILENCE_FRAMES) * dims["max_symbols"] + MIN_SILENCE_FRAMES
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < needed:
        raise ValueError(f"{where}: frames must be an integer >= 3 * max_symbols + 1 = {needed} (2 frames per "
                         f"symbol and a silent frame between and around them), got frames={frames!r}")
    noise = _check_noise(noise, where)
    seed = check_seed(seed, where)
    params = {**sizes, "frames": int(frames), **dims, "noise": noise, "seed": seed}
    return cached("speech", params, lambda: _generate_speech(**params), cache)


def speech_prototypes(features: int, vocab: int, seed: int) -> np.ndarray:
    """The prototypes of :func:`load_speech` for a seed: row 0 is silence, row ``v`` symbol ``v``.

    Returns a float64 array of shape ``(vocab + 1, features)``, the same one the loader renders with.

    Examples
    --------
    >>> speech_prototypes(features=4, vocab=3, seed=0).shape
    (4, 4)
    """
    check_sizes("speech_prototypes", features=features, vocab=vocab)
    seed = check_seed(seed, "speech_prototypes")
    return np.random.default_rng(seed).standard_normal((vocab + 1, features))


def _generate_speech(*, n_train: int, n_val: int, n_test: int, frames: int, features: int, vocab: int,
                     max_symbols: int, noise: float, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    prototypes = rng.standard_normal((vocab + 1, features))  # the "world" first, then each split's stream
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, split_rng in split_rngs(rng).items():
        samples = [_utterance(split_rng, frames, vocab, max_symbols) for _ in range(sizes[split])]
        alignment = np.stack([a for _, a in samples])
        rendered = prototypes[alignment] + noise * split_rng.standard_normal((len(samples), frames, features))
        columns[split] = {"frames": rendered.astype(np.float32), "target": [t for t, _ in samples],
                          "alignment": alignment}
    feats = Features({"frames": Array2D((frames, features), "float32"), "target": List(Value("int32")),
                      "alignment": List(Value("int32"), length=frames)})
    return to_dataset_dict(columns, feats)


def _utterance(rng: np.random.Generator, frames: int, vocab: int, max_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    """One symbol string and its frame-by-frame alignment (silence, symbol, silence, …, symbol, silence)."""
    length = int(rng.integers(1, max_symbols + 1))
    target = rng.integers(1, vocab + 1, size=length).astype(np.int32)
    # Segments alternate silence, symbol, silence, ..., silence: length + 1 silences and length symbols.
    minimum = np.full(2 * length + 1, MIN_SILENCE_FRAMES)
    minimum[1::2] = MIN_SYMBOL_FRAMES
    weights = np.ones(2 * length + 1)
    weights[1::2] = 3.0
    durations = minimum + rng.multinomial(frames - minimum.sum(), weights / weights.sum())
    symbols = np.zeros(2 * length + 1, dtype=np.int32)
    symbols[1::2] = target
    return target, np.repeat(symbols, durations)
