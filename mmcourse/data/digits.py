r"""Digits pair: scikit-learn's real 8x8 handwritten digits with a synthetic "spoken digit" spectrogram.

The ``image`` modality is the 1,797 handwritten digits bundled with scikit-learn (``sklearn.datasets.load_digits``,
from the UCI optical recognition data; no download), scaled from 0..16 to [0, 1]. The ``audio`` modality is rendered
per sample from the digit's class: a spectrogram of 12 time frames by 16 frequency bins in which the class has its
own two or three formants (frequency bins) and its own temporal envelope of one or two syllables (Gaussian bumps in
time). For frame :math:`t` and bin :math:`f`:

.. math::

    S[t, f] = \mathrm{clip}_{[0, 1]}\Big( g \sum_j e^{-(t - c_j - \delta_t)^2 / 2 w_j^2}
              \sum_k a_k\, e^{-(f - F_k - \delta_f)^2 / 2 \cdot 0.8^2} + 0.2\,\varepsilon_{tf} \Big),

with the class's syllables :math:`(c_j, w_j)` and formants :math:`F_k`, and per sample a pitch shift
:math:`\delta_f \sim U(-1, 1)` bins, a time shift :math:`\delta_t \sim U(-2, 2)` frames, a gain
:math:`g \sim U(0.6, 1.2)`, formant amplitudes :math:`a_k \sim U(0.5, 1)` and noise
:math:`\varepsilon_{tf} \sim \mathcal N(0, 1)`. Some classes share formants (1 and 4, 5 and 8, 0 and 7) and differ
only in their envelope, or share an envelope and differ by a formant one bin apart, so that audio alone is confusable
in a way that has nothing to do with which handwritten digits look alike. Measured test accuracies (logistic
regression, seed 0; see ``data/digits.md``): image 0.96, audio 0.83, both concatenated 0.99.

The splits are stratified by class, 60/20/20 (1,078 / 360 / 359 samples), and depend on the seed, as does the audio.
"""
from __future__ import annotations

import numpy as np
from datasets import Array2D, ClassLabel, DatasetDict, Features

from mmcourse.data._cache import cached
from mmcourse.data._common import SPLITS, check_seed, to_dataset_dict

__all__ = ["load_digits_pair"]

N_FRAMES = 12  # time frames of the spectrogram
N_BINS = 16  # frequency bins of the spectrogram
FORMANT_WIDTH = 0.8  # standard deviation of a formant across frequency bins
PITCH_SHIFT = 1.0  # the pitch shift is uniform in +-1 bin
TIME_SHIFT = 2.0  # the time shift is uniform in +-2 frames
GAIN = (0.6, 1.2)  # range of the overall loudness
FORMANT_GAIN = (0.5, 1.0)  # range of each formant's relative amplitude
NOISE = 0.2  # standard deviation of the additive noise
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)

# digit: (formant bins, syllables as (centre frame, width in frames)). Loosely after the spoken words: "zero" and
# "seven" have two syllables; shared formants or near-identical envelopes make some pairs hard to tell apart.
_VOICES = {
    0: ((3, 8, 12), ((3.5, 1.2), (7.5, 1.2))),
    1: ((4, 9), ((5.5, 2.5),)),
    2: ((2, 7), ((4.0, 1.0),)),
    3: ((3, 10, 13), ((4.0, 1.5),)),
    4: ((4, 9), ((4.0, 1.0),)),
    5: ((5, 11), ((5.5, 2.5),)),
    6: ((2, 8, 13), ((4.0, 1.0),)),
    7: ((3, 8, 12), ((3.0, 1.0), (8.0, 1.8))),
    8: ((5, 11), ((4.0, 1.0),)),
    9: ((4, 10, 14), ((5.5, 2.5),)),
}


def load_digits_pair(*, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the handwritten digits paired with rendered spectrograms.

    Parameters
    ----------
    seed : int
        Seeds the stratified split and the audio's random shifts, gains and noise. The images are always the same.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train`` (1,078), ``validation`` (360), ``test`` (359) in torch format, with columns ``image``
        (``Array2D`` (8, 8) float32 in [0, 1]), ``audio`` (``Array2D`` (12, 16) float32 in [0, 1], time by
        frequency) and ``label`` (``ClassLabel`` with names ``"0"`` to ``"9"``).

    Examples
    --------
    >>> ds = load_digits_pair(cache=False)
    >>> ds["train"]["image"][:].shape, ds["train"]["audio"][:].shape
    (torch.Size([1078, 8, 8]), torch.Size([1078, 12, 16]))
    """
    seed = check_seed(seed, "load_digits_pair")
    return cached("digits", {"seed": seed}, lambda: _generate(seed), cache)


def _generate(seed: int) -> DatasetDict:
    # Imported here: scikit-learn is needed only when the dataset is first built, not to read it from the cache.
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    indices = _stratified_split(labels, rng)
    audio = render_audio(labels, rng)
    columns = {split: {"image": images[idx], "audio": audio[idx], "label": labels[idx]}
               for split, idx in indices.items()}
    features = Features({"image": Array2D((8, 8), "float32"), "audio": Array2D((N_FRAMES, N_BINS), "float32"),
                         "label": ClassLabel(names=[str(d) for d in range(10)])})
    return to_dataset_dict(columns, features)


def _stratified_split(labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Shuffle each class and cut it 60/20/20, so that every split has the same class proportions."""
    cuts = np.cumsum(SPLIT_FRACTIONS)[:-1]
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        for split, part in zip(SPLITS, np.split(members, np.round(cuts * len(members)).astype(int))):
            parts[split].append(part)
    return {split: rng.permutation(np.concatenate(chunks)) for split, chunks in parts.items()}


def render_audio(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Render one noisy spectrogram per label.

    Parameters
    ----------
    labels : np.ndarray
        Digits 0..9, shape ``(n,)``.
    rng : np.random.Generator
        Source of the per-sample pitch and time shifts, gains and noise.

    Returns
    -------
    np.ndarray
        float32 array of shape ``(n, 12, 16)`` (time frames by frequency bins) with values in [0, 1].

    Examples
    --------
    >>> render_audio(np.array([0, 7]), np.random.default_rng(0)).shape
    (2, 12, 16)
    """
    n = len(labels)
    # Pad every voice to 3 formants and 2 syllables; a zero amplitude switches a padded one off.
    formants = np.zeros((10, 3))
    formant_on = np.zeros((10, 3))
    centres = np.zeros((10, 2))
    widths = np.ones((10, 2))
    syllable_on = np.zeros((10, 2))
    for digit, (bins, syllables) in _VOICES.items():
        formants[digit, :len(bins)] = bins
        formant_on[digit, :len(bins)] = 1.0
        for j, (centre, width) in enumerate(syllables):
            centres[digit, j], widths[digit, j], syllable_on[digit, j] = centre, width, 1.0

    pitch = rng.uniform(-PITCH_SHIFT, PITCH_SHIFT, (n, 1))
    delay = rng.uniform(-TIME_SHIFT, TIME_SHIFT, (n, 1))
    gain = rng.uniform(*GAIN, (n, 1, 1))
    formant_gain = rng.uniform(*FORMANT_GAIN, (n, 3)) * formant_on[labels]

    time = np.arange(N_FRAMES)[None, :, None]  # (1, T, 1) against syllables on the last axis
    envelope = (syllable_on[labels][:, None, :]
                * np.exp(-(time - centres[labels][:, None, :] - delay[:, :, None]) ** 2
                         / (2 * widths[labels][:, None, :] ** 2))).sum(-1)  # (n, T)
    freq = np.arange(N_BINS)[None, :, None]  # (1, F, 1) against formants on the last axis
    spectrum = (formant_gain[:, None, :]
                * np.exp(-(freq - formants[labels][:, None, :] - pitch[:, :, None]) ** 2
                         / (2 * FORMANT_WIDTH ** 2))).sum(-1)  # (n, F)
    spectrogram = gain * envelope[:, :, None] * spectrum[:, None, :]
    spectrogram += NOISE * rng.standard_normal(spectrogram.shape)
    return np.clip(spectrogram, 0.0, 1.0).astype(np.float32)
