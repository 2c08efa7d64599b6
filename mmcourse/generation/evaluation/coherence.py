r"""Part 5.4: coherence of generated content, judged by classifiers trained on real data (Shi et al., 2019).

A generator translates a source (an image of a 3) into another modality (its "audio"). Nobody can check the
generated audio by eye, but a classifier :math:`h` trained on *real* audio can: **cross-modal coherence** is the
share of generated samples whose predicted label is the source's label,

.. math::  \mathrm{coherence} = \frac1N \sum_{i=1}^N \big[\, h(\hat x_i) = y_i \,\big],

and **joint coherence** of pairs :math:`(\hat a_i, \hat b_i)` sampled together (from the prior of a joint model) is
the share on which the two modalities' classifiers agree, :math:`[h_a(\hat a_i) = h_b(\hat b_i)]`. Both are only as
good as the classifiers: report their accuracy on real test data next to them.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmcourse.training import fit
from mmcourse.utils import check_positive, set_seed

__all__ = ["predicted_labels", "cross_coherence", "joint_coherence", "fit_judge"]


def _check_samples(samples, where: str, name: str) -> Tensor:
    if not isinstance(samples, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(samples).__name__}")
    if samples.dim() < 1 or len(samples) == 0:
        raise ValueError(f"{where}: {name} must be a non-empty batch (N, ...), got shape {tuple(samples.shape)}")
    if samples.is_floating_point() and not torch.isfinite(samples).all():
        raise ValueError(f"{where}: {name} holds NaN or infinite values")
    return samples


@torch.no_grad()
def predicted_labels(classifier: Callable[[Tensor], Tensor], samples: Tensor) -> Tensor:
    """The labels ``(N,)`` that ``classifier`` gives to ``samples``; it may return logits ``(N, C)`` (the arg max is
    taken) or labels ``(N,)``. A module is run in evaluation mode and left in the mode it had.

    Example
    -------
    >>> predicted_labels(lambda x: x, torch.tensor([[0.1, 0.9], [2.0, -1.0]]))
    tensor([1, 0])
    """
    samples = _check_samples(samples, "predicted_labels", "samples")
    if not callable(classifier):
        raise TypeError(f"predicted_labels: classifier must be callable (samples -> logits or labels), got "
                        f"{type(classifier).__name__}")
    was_training = isinstance(classifier, nn.Module) and classifier.training
    if was_training:
        classifier.eval()
    try:
        out = classifier(samples)
    finally:
        if was_training:
            classifier.train()
    if not isinstance(out, Tensor):
        raise TypeError(f"predicted_labels: classifier must return a tensor, got {type(out).__name__}")
    if out.dim() == 2 and len(out) == len(samples):
        return out.argmax(dim=1)
    if out.dim() == 1 and len(out) == len(samples) and not out.is_floating_point():
        return out.long()
    raise ValueError(f"predicted_labels: classifier must return logits (N, C) or integer labels (N,) for N="
                     f"{len(samples)} samples, got shape {tuple(out.shape)} of {out.dtype}")


def _check_labels(labels, n: int, where: str) -> Tensor:
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or len(labels) != n or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(f"{where}: source_labels must be integer labels of shape ({n},), got shape "
                         f"{tuple(labels.shape)} of {labels.dtype}")
    return labels.long()


def cross_coherence(generated: Tensor, source_labels, classifier: Callable[[Tensor], Tensor]) -> float:
    """Cross-modal coherence: the share of ``generated`` samples that ``classifier`` (trained on real data of the
    generated modality) labels with their source's label. Part 5.4.

    Parameters
    ----------
    generated : Tensor
        Generated samples ``(N, ...)`` of the target modality.
    source_labels : Tensor or array
        The labels ``(N,)`` of the sources they were generated from.
    classifier : callable
        Maps a batch of the target modality to logits ``(N, C)`` or labels ``(N,)``.

    Returns
    -------
    float
        In [0, 1].

    Example
    -------
    >>> cross_coherence(torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 0, 0]), lambda x: x)
    0.6666666666666666
    """
    generated = _check_samples(generated, "cross_coherence", "generated")
    labels = _check_labels(source_labels, len(generated), "cross_coherence")
    return (predicted_labels(classifier, generated).cpu() == labels.cpu()).double().mean().item()


def joint_coherence(samples_a: Tensor, samples_b: Tensor, classifier_a: Callable[[Tensor], Tensor],
                    classifier_b: Callable[[Tensor], Tensor]) -> float:
    """Joint coherence: the share of jointly generated pairs ``(samples_a[i], samples_b[i])`` on which the two
    modalities' classifiers give the same label. Part 5.4.

    Example
    -------
    >>> a, b = torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[0.0, 3.0], [0.0, 3.0]])
    >>> joint_coherence(a, b, lambda x: x, lambda x: x)
    0.5
    """
    samples_a = _check_samples(samples_a, "joint_coherence", "samples_a")
    samples_b = _check_samples(samples_b, "joint_coherence", "samples_b")
    if len(samples_a) != len(samples_b):
        raise ValueError(f"joint_coherence: samples_a and samples_b must pair up, got {len(samples_a)} and "
                         f"{len(samples_b)} samples")
    labels_a = predicted_labels(classifier_a, samples_a).cpu()
    return (labels_a == predicted_labels(classifier_b, samples_b).cpu()).double().mean().item()


def fit_judge(samples: Tensor, labels, *, hidden: int = 64, epochs: int = 40, seed: int = 0) -> nn.Module:
    """Train the classifier that judges generated samples of one modality: an MLP on the flattened real
    ``samples`` (N, ...) with their ``labels`` (N,), Adam and cross-entropy (:func:`mmcourse.training.fit`), from
    ``seed``; returned in evaluation mode. Report its accuracy on real test data next to any coherence it judges.
    Part 5.4.

    Example
    -------
    >>> x = torch.cat([torch.zeros(20, 2, 2), torch.ones(20, 2, 2)])
    >>> judge = fit_judge(x, torch.tensor([0] * 20 + [1] * 20), hidden=8, epochs=30)
    >>> predicted_labels(judge, torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])).tolist()
    [0, 1]
    """
    samples = _check_samples(samples, "fit_judge", "samples")
    if not samples.is_floating_point() or samples.dim() < 2:
        raise ValueError(f"fit_judge: samples must be a float tensor (N, ...) of real data, got shape "
                         f"{tuple(samples.shape)} of {samples.dtype}")
    labels = _check_labels(labels, len(samples), "fit_judge")
    check_positive("fit_judge", hidden=hidden, epochs=epochs)
    set_seed(seed)
    judge = nn.Sequential(nn.Flatten(), nn.Linear(samples[0].numel(), hidden), nn.ReLU(),
                          nn.Linear(hidden, int(labels.max()) + 1))
    fit(judge, ([samples], labels), epochs=epochs, lr=1e-2, batch_size=128, progress=False)
    return judge.eval()
