"""Checkers for the exercises of Part 6.3, multimodal co-learning: the InfoNCE term between two batches of
embeddings, zero-shot prediction by the nearest class name, and MCTN's translation and cycle loss."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.representation.contrastive.clip import clip_loss
from mmcourse.transference.colearning.mctn import cycle_loss
from mmcourse.transference.colearning.zeroshot import zero_shot_predict

__all__ = ["check_info_nce", "check_zero_shot_predict", "check_cycle_loss"]


def check_info_nce(info_nce: Callable) -> CheckResult:
    """Exercise: ``info_nce(z1, z2, temperature)`` returns CLIP's symmetric InfoNCE loss of the n pairs
    ``(z1[i], z2[i])`` (torch ``(n, d)`` each): ``½[CE(S, I) + CE(Sᵀ, I)]`` with ``S_ij = cos(z1_i, z2_j) / τ``."""
    def make_case(g):
        n, d = int(torch.randint(3, 8, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
        z1 = torch.randn(n, d, generator=g, dtype=torch.float64) * 2
        z2 = z1 + torch.randn(n, d, generator=g, dtype=torch.float64)
        tau = float(torch.empty(1, dtype=torch.float64).uniform_(0.1, 0.5, generator=g))
        target = torch.arange(n)
        s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / tau
        wrong = {"use both directions, ½[CE(S, I) + CE(Sᵀ, I)]: you computed only one of them":
                 F.cross_entropy(s, target),
                 "use both directions, ½[CE(S, I) + CE(Sᵀ, I)]: you computed only the columns' one":
                 F.cross_entropy(s.T, target),
                 "normalise the embeddings first: S uses cosines, not raw dot products":
                 0.5 * (F.cross_entropy(z1 @ z2.T / tau, target) + F.cross_entropy(z2 @ z1.T / tau, target)),
                 "divide the cosines by the temperature τ":
                 0.5 * (F.cross_entropy(s * tau, target) + F.cross_entropy(s.T * tau, target)),
                 "average the two directions (½), do not add them":
                 F.cross_entropy(s, target) + F.cross_entropy(s.T, target)}
        return (z1.clone(), z2.clone(), tau), (clip_loss(z1, z2, tau), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return a scalar tensor, got {type(out).__name__}"
        return compare(expected, got.reshape(()), {h: w.reshape(()) for h, w in wrong.items()}, atol=1e-8,
                       rtol=1e-6)

    return run_cases("InfoNCE", info_nce, 10, make_case, judge,
                     "matches mmcourse.representation.clip_loss on {cases} fresh cases")


def check_zero_shot_predict(predict: Callable) -> CheckResult:
    """Exercise: ``predict(z, prototypes)`` returns, for embeddings ``z`` (torch ``(n, d)``) and class names
    ``prototypes`` (``(C, d)``, not unit length), the index of each row's nearest name in cosine similarity."""
    def make_case(g):
        n, c, d = 40, int(torch.randint(3, 7, (1,), generator=g)), int(torch.randint(2, 5, (1,), generator=g))
        z = torch.randn(n, d, generator=g, dtype=torch.float64)
        # names of very different lengths, so that dot products and distances disagree with cosines
        p = torch.randn(c, d, generator=g, dtype=torch.float64) * torch.logspace(-1, 1, c, dtype=torch.float64)[:, None]
        cos = F.normalize(z, dim=1) @ F.normalize(p, dim=1).T
        wrong = {"compare directions (cosine), not raw dot products: normalise the names": (z @ p.T).argmax(1),
                 "the nearest name has the largest cosine, not the smallest": cos.argmin(1),
                 "use the cosine, not the Euclidean distance to the unnormalised names":
                 torch.cdist(z, p).argmin(1)}
        return (z.clone(), p.clone()), (zero_shot_predict(z, p), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        if not isinstance(out, torch.Tensor) or out.shape != expected.shape or out.is_floating_point():
            return f"return an integer tensor of shape {tuple(expected.shape)}, got {getattr(out, 'shape', out)!r}"
        if torch.equal(out.long(), expected):
            return None
        for hint, alternative in wrong.items():
            if torch.equal(out.long(), alternative) and not torch.equal(alternative, expected):
                return hint
        return f"{int((out.long() != expected).sum())} of {len(expected)} predictions differ from the nearest name"

    return run_cases("zero-shot prediction", predict, 10, make_case, judge,
                     "matches mmcourse.transference.zero_shot_predict on {cases} fresh cases")


def check_cycle_loss(loss: Callable) -> CheckResult:
    """Exercise: ``loss(v, v_hat, a, a_hat, mu_t, mu_c)`` returns MCTN's ``μ_t·MSE(v̂, v) + μ_c·MSE(â, a)`` (means
    over every value; ``v`` the target, ``a`` the source, ``v̂`` the translation, ``â`` the back-translation)."""
    def make_case(g):
        n = int(torch.randint(2, 6, (1,), generator=g))
        v, v_hat = torch.rand(2, n, 4, 3, generator=g, dtype=torch.float64)
        a, a_hat = torch.rand(2, n, 5, generator=g, dtype=torch.float64)
        mu_t, mu_c = (float(x) for x in torch.empty(2, dtype=torch.float64).uniform_(0.2, 3, generator=g))
        mse = F.mse_loss
        wrong = {"average the squared errors over every value (a mean), do not sum them":
                 mu_t * ((v_hat - v) ** 2).sum() + mu_c * ((a_hat - a) ** 2).sum(),
                 "the back-translation â is compared with the source a; check which weight goes with which term":
                 mu_c * mse(v_hat, v) + mu_t * mse(a_hat, a),
                 "weigh each term: μ_t for the translation, μ_c for the cycle": mse(v_hat, v) + mse(a_hat, a),
                 "square the errors (mean squared error), not their absolute values":
                 mu_t * (v_hat - v).abs().mean() + mu_c * (a_hat - a).abs().mean()}
        expected = cycle_loss(v, v_hat, a, a_hat, translation_weight=mu_t, cycle_weight=mu_c)
        return (v.clone(), v_hat.clone(), a.clone(), a_hat.clone(), mu_t, mu_c), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return a scalar tensor, got {type(out).__name__}"
        return compare(expected, got.reshape(()), {h: w.reshape(()) for h, w in wrong.items()}, atol=1e-8,
                       rtol=1e-6)

    return run_cases("the MCTN cycle loss", loss, 10, make_case, judge,
                     "matches mmcourse.transference.cycle_loss on {cases} fresh cases")
