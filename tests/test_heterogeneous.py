"""Tests of mmcourse.representation.heterogeneous (Part 2.2): the multimodal masked autoencoder (tokens, masking,
the masked-only loss), the fusion search (building blocks, successive halving), and heterogeneity-aware sharing
(the transfer-based distance, the grouping checked against SciPy, the grouped encoders)."""
from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from mmcourse.data import as_tensors, load_dataset, load_multiview
from mmcourse.representation import (FUSIONS, Candidate, ComposedFusionModel, GroupedEncoderModel, MultimodalMAE,
                                     SearchResult, group_modalities, linear_probe, masked_mse, parameter_count,
                                     patchify, pretrain_mae, random_token_mask, search_fusion,
                                     transfer_heterogeneity)
from mmcourse.utils import set_seed

pytestmark = pytest.mark.filterwarnings("error")


# --- tokens and masking ----------------------------------------------------------------------------------------------
def test_patchify_matches_a_loop():
    x = torch.randn(3, 6, 8)
    tokens = patchify(x, (2, 4))
    assert tokens.shape == (3, 6, 8)
    k = 0
    for r in range(3):
        for c in range(2):
            assert torch.equal(tokens[:, k], x[:, 2 * r:2 * r + 2, 4 * c:4 * c + 4].reshape(3, -1))
            k += 1
    assert torch.equal(patchify(x, (1, 8)), x)  # frames of a spectrogram are its rows


@pytest.mark.parametrize("patch, match", [((4, 4), "must divide"), ((0, 2), "positive integers"),
                                          ((2,), "positive integers")])
def test_patchify_errors(patch, match):
    with pytest.raises(ValueError, match=match):
        patchify(torch.zeros(1, 6, 8), patch)
    with pytest.raises(ValueError, match="shape \\(batch, H, W\\)"):
        patchify(torch.zeros(6, 8), (2, 2))


def test_random_token_mask_counts_and_uniformity():
    g = torch.Generator().manual_seed(0)
    mask = random_token_mask(4000, 10, 3, generator=g)
    assert mask.dtype == torch.bool and mask.shape == (4000, 10)
    assert (mask.sum(1) == 3).all()                              # exactly the requested number per row
    assert torch.allclose(mask.float().mean(0), torch.full((10,), 0.3), atol=0.03)  # every token equally likely
    assert len({tuple(row.tolist()) for row in mask[:50]}) > 10  # rows differ
    again = random_token_mask(4000, 10, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(mask, again)
    assert not random_token_mask(2, 5, 0).any() and random_token_mask(2, 5, 5).all()


@pytest.mark.parametrize("kwargs, match", [(dict(num_masked=6), "num_masked must be an integer in \\[0, "
                                                                   "num_tokens=5\\]"),
                                           (dict(num_masked=-1), "num_masked"), (dict(batch=0), "batch")])
def test_random_token_mask_errors(kwargs, match):
    args = dict(batch=2, num_tokens=5, num_masked=2) | kwargs
    with pytest.raises(ValueError, match=match):
        random_token_mask(**args)


def test_masked_mse_by_hand_and_only_masked_count():
    prediction = torch.tensor([[[1.0, 3.0], [0.0, 0.0]], [[2.0, 2.0], [5.0, 5.0]]])
    target = torch.zeros(2, 2, 2)
    mask = torch.tensor([[True, False], [True, False]])
    # masked tokens: (1+9)/2 = 5 and (4+4)/2 = 4 -> mean 4.5; the 5s sit at a visible position
    assert masked_mse(prediction, target, mask).item() == pytest.approx(4.5)
    prediction.requires_grad_(True)
    masked_mse(prediction, target, mask).backward()
    assert (prediction.grad[~mask] == 0).all() and (prediction.grad[mask] != 0).any()
    assert masked_mse(prediction, target, torch.zeros(2, 2, dtype=torch.bool)).item() == 0.0


def test_masked_mse_gradcheck():
    g = torch.Generator().manual_seed(0)
    prediction = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    mask = torch.tensor([[True, False, True], [False, False, True]])
    assert torch.autograd.gradcheck(lambda p: masked_mse(p, target, mask), (prediction,))


def test_masked_mse_errors():
    with pytest.raises(ValueError, match="same shape"):
        masked_mse(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask must be boolean of shape \\(1, 2\\)"):
        masked_mse(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), torch.ones(1, 2))


# --- the masked autoencoder -----------------------------------------------------------------------------------------
SHAPES = [(4, 3), (5, 2)]


def tiny_inputs(batch=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, n, d, generator=g) for n, d in SHAPES]


def test_mae_shapes_mask_and_loss_equation():
    set_seed(0)
    mae = MultimodalMAE(SHAPES, width=8, heads=2, mask_ratio=0.5)
    xs = tiny_inputs()
    loss, recon, mask = mae(*xs, generator=torch.Generator().manual_seed(1))
    assert [tuple(r.shape) for r in recon] == [(6, 4, 3), (6, 5, 2)]
    assert mask.shape == (6, 9) and (mask.sum(1) == round(0.5 * 9)).all()
    expected = masked_mse(recon[0], xs[0], mask[:, :4]) + masked_mse(recon[1], xs[1], mask[:, 4:])
    assert torch.allclose(loss, expected)
    # the same generator seed gives the same mask and loss
    loss2, _, mask2 = mae(*xs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(mask, mask2) and torch.allclose(loss, loss2)


def test_mae_hidden_tokens_do_not_reach_the_encoder():
    """Changing a hidden token's values changes neither the encoded visible tokens nor the reconstructions."""
    set_seed(0)
    mae = MultimodalMAE(SHAPES, width=8, mask_ratio=0.5).eval()
    xs = tiny_inputs()
    _, recon, mask = mae(*xs, generator=torch.Generator().manual_seed(3))
    changed = [x.clone() for x in xs]
    changed[0][mask[:, :4]] += 100.0
    _, recon2, mask2 = mae(*changed, generator=torch.Generator().manual_seed(3))
    assert torch.equal(mask, mask2)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(recon, recon2))


def test_mae_gradients_reach_every_parameter():
    set_seed(0)
    mae = MultimodalMAE(SHAPES, width=8, depth=2)
    loss, _, _ = mae(*tiny_inputs())
    loss.backward()
    missing = [n for n, p in mae.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


def test_mae_encode_with_missing_modalities():
    set_seed(0)
    mae = MultimodalMAE(SHAPES, width=8)
    xs = tiny_inputs()
    both, first, second = mae.encode(*xs), mae.encode(xs[0], None), mae.encode(None, xs[1])
    assert both.shape == first.shape == second.shape == (6, 8)
    assert not torch.allclose(both, first)
    with torch.no_grad():  # the pooled vector is the mean of the encoder's outputs over the tokens given
        assert torch.allclose(first, mae.encoder(mae.tokens(xs[0], None)).mean(1))


@pytest.mark.parametrize("call, match", [
    (lambda m, xs: m(xs[0]), "expected 2 modalities, got 1"),
    (lambda m, xs: m(xs[0], None), "every modality is needed"),
    (lambda m, xs: m.encode(None, None), "at least one modality"),
    (lambda m, xs: m(xs[0], torch.zeros(6, 5, 3)), "modality 2 must have shape \\(batch, 5, 2\\), got \\(6, 5, 3\\)"),
])
def test_mae_input_errors(call, match):
    mae = MultimodalMAE(SHAPES, width=8)
    with pytest.raises(ValueError, match=match):
        call(mae, tiny_inputs())


@pytest.mark.parametrize("kwargs, match", [(dict(width=7), "heads=2 must divide width=7"),
                                           (dict(mask_ratio=1.0), "mask_ratio must lie in \\(0, 1\\)"),
                                           (dict(depth=0), "depth must be a positive integer"),
                                           (dict(token_shapes=[(4, 0)]), "token_shapes")])
def test_mae_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultimodalMAE(**(dict(token_shapes=SHAPES) | kwargs))


def test_pretrain_mae_lowers_the_loss():
    set_seed(0)
    mae = MultimodalMAE(SHAPES, width=16)
    g = torch.Generator().manual_seed(0)
    base = torch.randn(64, 1, 1, generator=g)  # tokens that share a value per sample: predictable from the rest
    xs = [base.expand(64, n, d) + 0.05 * torch.randn(64, n, d, generator=g) for n, d in SHAPES]
    losses = pretrain_mae(mae, xs, epochs=15, batch_size=64, lr=2e-2)
    assert len(losses) == 15 and losses[-1] < 0.5 * losses[0]
    assert not mae.training and mae.mask_token.device.type == "cpu"  # back on the CPU, in evaluation mode
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        pretrain_mae(mae, xs, epochs=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        pretrain_mae(mae, xs, batch_size=0)
    with pytest.raises(ValueError, match="every modality is needed"):
        pretrain_mae(mae, [xs[0], None])


def test_linear_probe():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 20)
    x = rng.normal(size=(60, 3)) + 4 * np.eye(3)[y]
    assert linear_probe(x, y, x, y) == 1.0
    assert linear_probe(torch.tensor(x), torch.tensor(y), x, y, per_class=3) >= 0.9
    with pytest.raises(ValueError, match="per_class must be an integer in \\[1, 20\\]"):
        linear_probe(x, y, x, y, per_class=21)
    with pytest.raises(ValueError, match="expected features"):
        linear_probe(x, y[:5], x, y)


# --- search ----------------------------------------------------------------------------------------------------------
def test_composed_model_builds_the_candidate():
    set_seed(0)
    model = ComposedFusionModel([torch.zeros(12), torch.zeros(3, 4)], 3, Candidate((2, 0), "low_rank"), width=5)
    assert model(torch.zeros(7, 12), torch.zeros(7, 3, 4)).shape == (7, 3)
    assert [sum(isinstance(b, torch.nn.Linear) for b in e) for e in model.encoders] == [2, 0]
    assert model.fusion.input_dims == (5, 12) and model.fusion.rank == 4
    assert str(Candidate((2, 0), "low_rank")) == "low_rank @ layers (2, 0)"


@pytest.mark.parametrize("candidate, match", [(Candidate((1,), "tensor"), "one layer per modality"),
                                              (Candidate((1, -1), "tensor"), "integers ≥ 0"),
                                              (Candidate((1, 1), "nope"), "unknown fusion 'nope'")])
def test_composed_model_errors(candidate, match):
    with pytest.raises(ValueError, match=match):
        ComposedFusionModel([torch.zeros(12)] * 2, 2, candidate)
    with pytest.raises(ValueError, match="expected 2 modalities, got 1"):
        ComposedFusionModel([torch.zeros(12)] * 2, 2, Candidate((1, 1), "additive"))(torch.zeros(3, 12))


@pytest.fixture(scope="module")
def synergy():
    data = load_dataset("synergy", n_train=500, n_val=300, n_test=10)
    return as_tensors(data["train"]), as_tensors(data["validation"])


def test_search_finds_a_multiplicative_fusion_on_synergy(synergy):
    result = search_fusion(*synergy, fusions=("additive", "late", "multiplicative"), layers=(1,), epochs=4,
                           rounds=2)
    assert isinstance(result, SearchResult)
    table = result.table
    assert len(table) == 3 and list(table["rounds"]) == [2, 2, 1]     # 3 candidates, ⌈3/2⌉ = 2 survive round 1
    assert list(table["epochs"]) == [4 + 8, 4 + 8, 4]                 # round r trains epochs·eta^(r-1) more
    last = table[table["rounds"] == 2]
    assert result.best_accuracy == last["val accuracy"].max()         # the best of the last round is returned
    assert str(result.best) == last.index[0] and result.best.fusion == "multiplicative"
    assert result.best_accuracy >= 0.7 and table.loc["additive @ layers (1, 1)", "val accuracy"] <= 0.6
    assert isinstance(result.model, ComposedFusionModel) and result.model.candidate == result.best


def test_search_space_and_halving(synergy):
    result = search_fusion(*synergy, fusions=("additive", "multiplicative"), layers=(0, 1), epochs=1, eta=3,
                           rounds=5)
    counts = result.table["rounds"].value_counts().sort_index()
    # 2 fusions × 2² layer choices = 8 candidates; ⌈8/3⌉ = 3 survive round 1 and are trained in round 2; the best
    # of them is the only one left, so the search stops before round 3
    assert len(result.table) == 8 and counts.to_dict() == {1: 5, 2: 3}
    assert result.best_accuracy == result.table["val accuracy"].iloc[0]
    assert set(result.table["layers"]) == {"(0, 0)", "(0, 1)", "(1, 0)", "(1, 1)"}


@pytest.mark.parametrize("kwargs, match", [(dict(fusions=("nope",)), "unknown: \\['nope'\\]"),
                                           (dict(layers=(-1,)), "layers must be"),
                                           (dict(eta=1), "eta must be an integer ≥ 2"),
                                           (dict(rounds=0), "rounds must be a positive integer")])
def test_search_errors(synergy, kwargs, match):
    with pytest.raises(ValueError, match=match):
        search_fusion(*synergy, **kwargs)


# --- heterogeneity and sharing ---------------------------------------------------------------------------------------
def scipy_groups(d, threshold, method):
    labels = fcluster(linkage(squareform(d, checks=False), method=method), t=threshold, criterion="distance")
    return sorted(sorted(np.flatnonzero(labels == k).tolist()) for k in np.unique(labels))


@pytest.mark.parametrize("method", ["average", "single"])
def test_group_modalities_agrees_with_scipy(method):
    rng = np.random.default_rng(0)
    for _ in range(30):
        m = int(rng.integers(2, 8))
        points = rng.normal(size=(m, 2))
        d = np.linalg.norm(points[:, None] - points[None], axis=-1)
        threshold = float(rng.uniform(0.2, 2.0))
        assert group_modalities(d, threshold, linkage=method) == scipy_groups(d, threshold, method)


def test_group_modalities_planted_and_errors():
    d = np.full((5, 5), 0.8)
    for group in ([0, 3], [1, 2, 4]):
        d[np.ix_(group, group)] = 0.05
    np.fill_diagonal(d, 0)
    assert group_modalities(d, 0.3) == [[0, 3], [1, 2, 4]]
    assert group_modalities(d, 1.0) == [[0, 1, 2, 3, 4]] and len(group_modalities(d, 0.0)) == 5
    assert group_modalities(torch.tensor(d), 0.3) == [[0, 3], [1, 2, 4]]
    with pytest.raises(ValueError, match="square matrix"):
        group_modalities(np.zeros((2, 3)), 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        group_modalities(np.array([[0, 1], [2, 0]]), 0.1)
    with pytest.raises(ValueError, match="linkage must be 'average' or 'single'"):
        group_modalities(d, 0.1, linkage="complete")


@pytest.fixture(scope="module")
def multiview():
    data = load_multiview(n_train=150, n_val=300, n_test=300)
    return as_tensors(data["train"]), as_tensors(data["validation"]), as_tensors(data["test"])


def test_transfer_heterogeneity_finds_the_planted_families(multiview):
    train, val, _ = multiview
    distance, transfer = transfer_heterogeneity(train, val, epochs=20)
    assert distance.shape == transfer.shape == (4, 4)
    assert np.allclose(distance, distance.T) and np.allclose(np.diag(distance), 0)
    i, j = 1, 3  # the formula, entry by entry
    assert distance[i, j] == pytest.approx(((transfer[j, j] - transfer[i, j]) + (transfer[i, i] - transfer[j, i])) / 2)
    within, across = distance[[0, 2], [1, 3]], distance[np.ix_([0, 1], [2, 3])]
    assert within.max() < 0.1 < across.min()
    assert group_modalities(distance, 0.1) == [[0, 1], [2, 3]]


def test_transfer_heterogeneity_errors(multiview):
    (xs, y), val, _ = multiview
    with pytest.raises(ValueError, match="same size"):
        transfer_heterogeneity(([xs[0], xs[1][:, :8]], y), ([val[0][0], val[0][1][:, :8]], val[1]))
    with pytest.raises(ValueError, match="same number \\(≥ 2\\)"):
        transfer_heterogeneity(([xs[0]], y), ([val[0][0]], val[1]))


def test_grouped_encoders_share_parameters():
    samples = [torch.zeros(16)] * 4
    separate = GroupedEncoderModel(samples, 4, [[0], [1], [2], [3]], width=8)
    grouped = GroupedEncoderModel(samples, 4, [[2, 3], [0, 1]], width=8)
    shared = GroupedEncoderModel(samples, 4, [[0, 1, 2, 3]], width=8)
    encoder = parameter_count(shared.encoders[0])
    assert parameter_count(separate) - parameter_count(grouped) == 2 * encoder
    assert parameter_count(grouped) - parameter_count(shared) == encoder
    assert grouped.group_of == (1, 1, 0, 0)  # groups are kept as given, members sorted
    xs = [torch.randn(5, 16) for _ in range(4)]
    grouped(*xs).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in grouped.parameters())
    with torch.no_grad():  # modalities of one group go through the same encoder
        assert torch.equal(grouped.encoders[0](xs[2]), grouped.encoders[grouped.group_of[3]](xs[2]))


@pytest.mark.parametrize("groups, kwargs, match", [([[0, 1], [1, 2, 3]], {}, "partition the 4 modalities"),
                                                   ([[0, 1], [2]], {}, "partition"),
                                                   ([[0, 1, 2, 3]], dict(fusion="early"), "fusion must be one of")])
def test_grouped_encoder_errors(groups, kwargs, match):
    with pytest.raises(ValueError, match=match):
        GroupedEncoderModel([torch.zeros(16)] * 4, 4, groups, **kwargs)
    with pytest.raises(ValueError, match="vectors of one size"):
        GroupedEncoderModel([torch.zeros(16), torch.zeros(8)], 2, [[0, 1]])
    with pytest.raises(ValueError, match="expected 4 modalities, got 3"):
        GroupedEncoderModel([torch.zeros(16)] * 4, 4, [[0, 1, 2, 3]])(*[torch.zeros(2, 16)] * 3)


def test_every_fusion_name_works_in_the_search_model():
    for name in FUSIONS:
        model = ComposedFusionModel([torch.zeros(3), torch.zeros(4)], 2, Candidate((1, 0), name), width=4)
        assert model(torch.randn(2, 3), torch.randn(2, 4)).shape == (2, 2)


# --- the docstrings' examples run ------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["", ".mae", ".search", ".sharing"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module("mmcourse.representation.heterogeneous" + module))
    assert result.failed == 0 and (module == "" or result.attempted > 0)
