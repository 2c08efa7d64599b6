"""Part 3 of the book, Alignment: which elements of two modalities correspond, and representations built on that.

- Discrete alignment (3.1): :func:`optimal_transport` (the exact plan, a linear programme) and :func:`sinkhorn`
  (the entropic plan, log-domain Sinkhorn iterations), in :mod:`mmcourse.alignment.transport`; contrastive
  word-to-object matching on the scene world and the local, Hungarian and transport matchers, in
  :mod:`mmcourse.alignment.matching`.
- Continuous alignment (3.2), warping: :func:`dtw` (cost and optimal path), :func:`soft_dtw` (Cuturi and
  Blondel's differentiable relaxation) and :func:`soft_alignment` (its expected alignment matrix), in
  :mod:`mmcourse.alignment.warping`; canonical time warping across feature spaces in :mod:`mmcourse.alignment.ctw`;
  adversarial mapping of one embedding space onto another in :mod:`mmcourse.alignment.adversarial`, with
  Procrustes refinement in :mod:`mmcourse.alignment.orthogonal`.
- Continuous alignment (3.2), segmentation: :func:`ctc_loss` (the CTC negative log-likelihood of one target,
  summed over all alignments), in :mod:`mmcourse.alignment.ctc`; batched CTC training, decoding, best paths and
  unsupervised boundary discovery, in :mod:`mmcourse.alignment.segmentation`.
- Contextualized representations (3.3): joint self-attention, cross-modal attention and a graph network over the
  elements of both modalities, in :mod:`mmcourse.alignment.contextual`.

The numerical algorithms (DTW, soft-DTW, OT, Sinkhorn, CTC) are plain functions: they accept NumPy arrays and torch
tensors, check their input at the door and return plain values (``soft_dtw``, ``ctc_loss`` and ``sinkhorn`` return
differentiable tensors for tensor input). Their names and meanings are fixed by the book's plan, so they can be
checked against other libraries.

Examples
--------
>>> import numpy as np
>>> from mmcourse.alignment import dtw, optimal_transport
>>> dtw([0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 2.0])[1]
[(0, 0), (0, 1), (1, 2), (2, 3)]
>>> optimal_transport([0.5, 0.5], [0.5, 0.5], np.array([[1.0, 0.0], [0.0, 1.0]]))
array([[0. , 0.5],
       [0.5, 0. ]])
"""
from mmcourse.alignment import adversarial, contextual, ctw, learned_matching, matching, orthogonal, segmentation
from mmcourse.alignment.adversarial import *  # noqa: F401,F403
from mmcourse.alignment.contextual import *  # noqa: F401,F403
from mmcourse.alignment.ctc import ctc_collapse, ctc_loss
from mmcourse.alignment.ctw import *  # noqa: F401,F403
from mmcourse.alignment.learned_matching import *  # noqa: F401,F403
from mmcourse.alignment.matching import *  # noqa: F401,F403
from mmcourse.alignment.orthogonal import *  # noqa: F401,F403
from mmcourse.alignment.segmentation import *  # noqa: F401,F403
from mmcourse.alignment.transport import optimal_transport, sinkhorn, transport_cost
from mmcourse.alignment.warping import dtw, soft_alignment, soft_dtw, squared_distances

__all__ = ["dtw", "soft_dtw", "soft_alignment", "squared_distances", "optimal_transport", "sinkhorn", "transport_cost",
           "ctc_loss", "ctc_collapse", *matching.__all__, *ctw.__all__, *orthogonal.__all__, *adversarial.__all__, *segmentation.__all__,
           *contextual.__all__, *learned_matching.__all__]
