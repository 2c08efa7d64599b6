r"""Part 4.3: removing a language prior: RUBi and counterfactual VQA (the total indirect effect).

A question answerer trained where the question alone predicts the answer learns the shortcut. Two remedies wrap the
model :math:`z_k = f(v, q)` (logits over the answers) with a **question-only branch** :math:`z_q = c(q)` that reads a
copy of the question code through which no gradient flows back (so the question encoder is not taught the prior by it):

- **RUBi** (Cadene et al., 2019) trains on :math:`z_k \odot \sigma(z_q)`, plus a cross-entropy on the question-only
  prediction: examples that the question alone answers get small gradients, so :math:`f` must learn from the others.
  At test time the plain :math:`z_k` answers.
- **Counterfactual VQA** (Niu et al., 2021) fuses :math:`Z(q, v, k) = \log \sigma(z_k + z_q + z_v)` (SUM fusion, with
  a vision-only branch :math:`z_v`) and answers with the **total indirect effect**
  :math:`\mathrm{TIE} = Z(q, v, k) - Z(q, c, c)`: the total effect minus the natural direct effect of the question,
  where :math:`c` is a learned constant standing for "no image, no fused knowledge".

The data with a language prior come from :func:`language_prior_split`; the question-only baseline is
:class:`QuestionOnlyModel`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_number, check_tensor
from mmcourse.reasoning.inference.priors import PRIOR_ANSWERS, USUAL_COLOUR, WARM_COLOURS, language_prior_split
from mmcourse.reasoning.inference.vqa import QuestionEncoder, VQAModel, _check_inputs
from mmcourse.utils import check_positive

__all__ = ["QuestionOnlyModel", "RUBi", "rubi_logits", "CounterfactualVQA", "total_indirect_effect",
           "language_prior_split", "WARM_COLOURS", "USUAL_COLOUR", "PRIOR_ANSWERS"]


def _branch(dim: int, n_answers: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, n_answers))


def _base(model, where: str) -> VQAModel:
    if not isinstance(model, VQAModel):
        raise TypeError(f"{where}: model must be a VQAModel (it reads its question and image codes), got "
                        f"{type(model).__name__}")
    return model


class QuestionOnlyModel(nn.Module):
    """The blind baseline: answers from the question alone (GRU code, MLP); ``forward(image, question)`` ignores
    the image. It measures how much of the answer the language prior gives. Part 4.3.

    Parameters
    ----------
    dim : int
        Width of the word embeddings and of the question code.
    n_answers : int
        Number of answers.

    Example
    -------
    >>> QuestionOnlyModel(8)(torch.rand(2, 30, 30, 3), torch.ones(2, 4, dtype=torch.long)).shape
    torch.Size([2, 2])
    """

    def __init__(self, dim: int = 32, n_answers: int = 2):
        super().__init__()
        check_positive("QuestionOnlyModel", dim=dim)
        if isinstance(n_answers, bool) or not isinstance(n_answers, int) or n_answers < 2:
            raise ValueError(f"QuestionOnlyModel: n_answers must be an integer >= 2, got {n_answers!r}")
        self.question = QuestionEncoder(dim)
        self.head = _branch(dim, n_answers)

    def forward(self, image: Tensor, question: Tensor) -> Tensor:
        _check_inputs(image, question, "QuestionOnlyModel")
        return self.head(self.question(question))

    def loss(self, image: Tensor, question: Tensor, answer: Tensor) -> Tensor:
        return nn.functional.cross_entropy(self(image, question), answer.long())


def rubi_logits(logits: Tensor, question_logits: Tensor) -> Tensor:
    r"""RUBi's masked logits :math:`z_k \odot \sigma(z_q)`, what the training loss sees (Cadene et al., 2019).

    Example
    -------
    >>> rubi_logits(torch.tensor([[2.0, -2.0]]), torch.tensor([[0.0, 0.0]]))
    tensor([[ 1., -1.]])
    """
    check_tensor("rubi_logits", "logits", logits)
    check_tensor("rubi_logits", "question_logits", question_logits)
    if logits.shape != question_logits.shape:
        raise ValueError(f"rubi_logits: logits and question_logits must have the same shape, got "
                         f"{tuple(logits.shape)} and {tuple(question_logits.shape)}")
    return logits * torch.sigmoid(question_logits)


class RUBi(nn.Module):
    r"""RUBi (Cadene et al., 2019): train :math:`f(v, q) \odot \sigma(c(q))`, test with :math:`f(v, q)`.

    The question-only branch :math:`c` reads the question code with its gradient stopped (``detach``, as the
    reference's ``grad_mul_const(q_emb, 0)``): the main loss trains :math:`c` through the mask but cannot teach the
    prior to the question encoder. Loss: :math:`\mathrm{CE}(z_k \odot \sigma(z_q), a) + \mathrm{CE}(z_q, a)`.
    ``forward`` returns the plain logits :math:`z_k`. Part 4.3.

    Two choices for a yes/no question (two answers), both measured on the chapter's language-prior split: the
    question-only loss is on :math:`z_q` itself (the reference's ``end_classif=False``, which ties the mask to the
    prior; with an extra linear layer in between, the mask is free to drift away from it); and the logits are
    shifted so that the smaller is 0 before masking (softmax ignores a shift; a mask below 1 would *raise* a
    negative logit).

    Parameters
    ----------
    model : VQAModel
        The wrapped question answerer.
    question_weight : float
        Weight of the question-only cross-entropy.

    Example
    -------
    >>> rubi = RUBi(VQAModel(8))
    >>> rubi.loss(torch.rand(2, 30, 30, 3), torch.ones(2, 4, dtype=torch.long), torch.tensor([0, 1])).dim()
    0
    """

    def __init__(self, model: VQAModel, question_weight: float = 1.0):
        super().__init__()
        self.model = _base(model, "RUBi")
        check_number("RUBi", "question_weight", question_weight, low=0)
        self.question_branch = _branch(model.dim, model.n_answers)
        self.question_weight = float(question_weight)

    def outputs(self, image: Tensor, question: Tensor) -> dict[str, Tensor]:
        """``logits`` (test time), ``logits_rubi`` (trained), ``logits_q`` (question-only)."""
        _check_inputs(image, question, "RUBi")
        q = self.model.encode_question(question)
        logits = self.model.fuse(self.model.encode_image(image), q)
        z_q = self.question_branch(q.detach())  # no gradient from here into the question encoder
        # softmax ignores a shift; shifting so that the least likely answer has logit 0 makes the mask damp the
        # answers the model favours (a negative logit times a mask < 1 would rise instead)
        shifted = logits - logits.min(dim=-1, keepdim=True).values
        return {"logits": logits, "logits_rubi": rubi_logits(shifted, z_q), "logits_q": z_q}

    def forward(self, image: Tensor, question: Tensor) -> Tensor:
        return self.outputs(image, question)["logits"]

    def loss(self, image: Tensor, question: Tensor, answer: Tensor) -> Tensor:
        out, answer = self.outputs(image, question), answer.long()
        return (nn.functional.cross_entropy(out["logits_rubi"], answer)
                + self.question_weight * nn.functional.cross_entropy(out["logits_q"], answer))


def total_indirect_effect(z_k: Tensor, z_q: Tensor, z_v: Tensor, c) -> Tensor:
    r"""CF-VQA's answer with SUM fusion: :math:`\log\sigma(z_k + z_q + z_v) - \log\sigma(c + z_q + c)`.

    The first term is the total effect :math:`Z(q, v, k)`; the second, :math:`Z(q, c, c)`, keeps the question and
    replaces the fused knowledge and the image by the constant :math:`c` (the natural direct effect of the
    question). Niu et al. (2021); Part 4.3.

    Example
    -------
    >>> total_indirect_effect(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([0.0]), 0.0)
    tensor([0.])
    """
    for name, z in (("z_k", z_k), ("z_q", z_q), ("z_v", z_v)):
        check_tensor("total_indirect_effect", name, z)
    check_number("total_indirect_effect", "c", c.detach() if isinstance(c, Tensor) else c)
    if not z_k.shape == z_q.shape == z_v.shape:
        raise ValueError(f"total_indirect_effect: z_k, z_q, z_v must have the same shape, got {tuple(z_k.shape)}, "
                         f"{tuple(z_q.shape)}, {tuple(z_v.shape)}")
    c = torch.as_tensor(c, dtype=z_k.dtype)
    return nn.functional.logsigmoid(z_k + z_q + z_v) - nn.functional.logsigmoid(2 * c + z_q)


class CounterfactualVQA(nn.Module):
    r"""Counterfactual VQA (Niu et al., 2021), SUM fusion: train the total effect, answer with the TIE.

    Branches: :math:`z_k = f(v, q)` (the wrapped model), :math:`z_q` and :math:`z_v` from the question and image
    codes with their gradients stopped. Loss: :math:`\mathrm{CE}(Z(q, v, k)) + \mathrm{CE}(z_q) +
    \mathrm{CE}(z_v)` (the reference's ``end_classif=False``: the branches are trained as the question-only and
    vision-only classifiers themselves, so :math:`z_q` holds the prior that the TIE removes), plus the
    cross-entropy of :math:`\mathrm{softmax}\,Z(q, c, c)` (inputs detached, so it trains :math:`c` alone)
    against the detached :math:`\mathrm{softmax}\,Z(q, v, k)`. ``forward`` returns the TIE
    (:func:`total_indirect_effect`). In the reference code the comments on ``z_q`` ("nie") and ``z_nde``
    ("tie") are swapped: ``z_q`` is the natural direct effect of the question. Part 4.3.

    Parameters
    ----------
    model : VQAModel
        The wrapped question answerer (the fused branch :math:`z_k`).

    Example
    -------
    >>> cf = CounterfactualVQA(VQAModel(8))
    >>> cf(torch.rand(2, 30, 30, 3), torch.ones(2, 4, dtype=torch.long)).shape
    torch.Size([2, 2])
    """

    def __init__(self, model: VQAModel):
        super().__init__()
        self.model = _base(model, "CounterfactualVQA")
        self.question_branch, self.vision_branch = (_branch(model.dim, model.n_answers),
                                                   _branch(model.dim, model.n_answers))
        self.constant = nn.Parameter(torch.tensor(0.0))

    def outputs(self, image: Tensor, question: Tensor) -> dict[str, Tensor]:
        """``z_k``, ``z_q``, ``z_v``, the total effect ``te`` and the ``tie``."""
        _check_inputs(image, question, "CounterfactualVQA")
        cells, q = self.model.encode_image(image), self.model.encode_question(question)
        z_k = self.model.fuse(cells, q)
        z_q = self.question_branch(q.detach())
        z_v = self.vision_branch(cells.amax(dim=1).detach())
        return {"z_k": z_k, "z_q": z_q, "z_v": z_v, "te": nn.functional.logsigmoid(z_k + z_q + z_v),
                "tie": total_indirect_effect(z_k, z_q, z_v, self.constant)}

    def forward(self, image: Tensor, question: Tensor) -> Tensor:
        return self.outputs(image, question)["tie"]

    def loss(self, image: Tensor, question: Tensor, answer: Tensor) -> Tensor:
        out, answer = self.outputs(image, question), answer.long()
        ce = nn.functional.cross_entropy
        nde = nn.functional.logsigmoid(2 * self.constant + out["z_q"].detach())  # trains c only
        kl = -(out["te"].softmax(-1).detach() * nde.log_softmax(-1)).sum(-1).mean()
        return ce(out["te"], answer) + ce(out["z_q"], answer) + ce(out["z_v"], answer) + kl
