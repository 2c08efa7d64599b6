"""Tests of order embeddings (Part 2.4): the penalty by hand and by its laws, the max-margin loss, the metrics, the
module and its training on the hierarchy toy."""
import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mmcourse.representation.coordination.order as order_module
from mmcourse import set_seed
from mmcourse.data import ancestor_matrix, load_hierarchy
from mmcourse.representation import (OrderEmbedding, fit_order_embedding, order_loss, order_penalty,
                                     order_violations)

vectors = arrays(np.float64, 3, elements=st.floats(0, 10, allow_nan=False))


def test_penalty_by_hand():
    # a ⪯ b (a more specific) holds iff a ≥ b coordinate-wise; E sums the squared shortfalls of a below b.
    assert order_penalty([3.0, 1.0, 2.0], [1.0, 1.0, 0.0]).item() == 0.0
    assert order_penalty([1.0, 1.0, 2.0], [3.0, 0.0, 2.5]).item() == pytest.approx(2.0 ** 2 + 0.5 ** 2)
    assert order_penalty([0.0, 0.0], [0.0, 0.0]).item() == 0.0


def test_penalty_broadcasts_to_a_matrix_of_pairs():
    a, b = torch.rand(4, 3), torch.rand(5, 3)
    matrix = order_penalty(a[:, None], b[None])
    assert matrix.shape == (4, 5)
    assert matrix[2, 3].item() == pytest.approx(order_penalty(a[2], b[3]).item())


@settings(max_examples=60, deadline=None)
@given(vectors, vectors, vectors)
def test_penalty_laws(a, b, c):
    e = lambda u, v: order_penalty(u, v).item()
    assert e(a, b) >= 0 and e(a, a) == 0
    assert e(a, b) == 0 or e(b, a) == 0 or not (np.all(a >= b) or np.all(b >= a))  # antisymmetric where comparable
    # Transitivity in quantitative form: sqrt E is a triangle-inequality "distance" along the order.
    assert np.sqrt(e(a, c)) <= np.sqrt(e(a, b)) + np.sqrt(e(b, c)) + 1e-9
    # Moving the specific side up (outwards) never increases its violation.
    assert e(a + 1.0, b) <= e(a, b) + 1e-12


def test_penalty_gradcheck_and_errors():
    a = torch.tensor([[0.3, 1.2], [2.0, 0.1]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[1.0, 0.5], [1.5, 0.7]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(order_penalty, (a, b))
    with pytest.raises(ValueError, match="same embedding size"):
        order_penalty(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="b contains NaN"):
        order_penalty([1.0], [float("nan")])
    with pytest.raises(ValueError, match="a must have at least one dimension"):
        order_penalty(1.0, [1.0])


def test_order_loss_by_hand():
    a, b = torch.tensor([[2.0, 2.0], [1.0, 0.0]]), torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    # positives (a ⪯ b): E = 0 and 1 → mean 0.5; negatives (b ⪯ a): E = 2 and 0 → hinge at margin 1.5: 0 and 1.5
    # → mean 0.75; total 1.25
    assert order_loss(a, b, b, a, margin=1.5).item() == pytest.approx(1.25)
    with pytest.raises(ValueError, match="margin must be a finite number > 0"):
        order_loss(a, b, b, a, margin=0)
    with pytest.raises(ValueError, match="at least one true and one false pair"):
        order_loss(a[:0], b[:0], b, a)


def test_order_violations():
    result = order_violations(torch.tensor([0.0, 0.1, 0.9, 2.0]), np.array([0.0, 3.0]), threshold=0.5)
    assert result == {"true pairs violated": 0.5, "false pairs ordered": 0.5, "error": 0.5}
    assert order_violations([0.0], [1.0], threshold=0.5)["error"] == 0.0
    with pytest.raises(ValueError, match="at least one true and one false pair"):
        order_violations([], [1.0], threshold=0.5)


def test_module_is_non_negative_and_checks_shapes():
    model = OrderEmbedding(6, 4, out_dim=3, hidden=(5,))
    fx, fy = model(torch.randn(7, 6), torch.randn(2, 4))
    assert fx.shape == (7, 3) and fy.shape == (2, 3) and (fx >= 0).all() and (fy >= 0).all()
    assert torch.equal(model.embed_x(torch.ones(1, 6)), model(torch.ones(1, 6), torch.ones(1, 4))[0])
    with pytest.raises(ValueError, match=r"y must be a tensor of shape \(batch, 4\)"):
        model.embed_y(torch.randn(2, 5))
    with pytest.raises(ValueError, match="out_dim must be a positive integer"):
        OrderEmbedding(6, 4, out_dim=0)


def hierarchy_tensors():
    ds = load_hierarchy()
    concepts = ds["concepts"]
    return ds, concepts["text"][:], concepts["parent"][:].numpy()


def violations(model, x, item, text, parent):
    with torch.no_grad():
        fx, fy = model(x, text)
        e = order_penalty(fx[:, None], fy[None])
    true = torch.as_tensor(ancestor_matrix(parent))[item]
    return order_violations(e[true], e[~true], threshold=0.5)


def test_training_reduces_order_violations_on_held_out_images():
    ds, text, parent = hierarchy_tensors()
    set_seed(0)
    model = OrderEmbedding(24, 16, out_dim=8, hidden=(32,))
    x_test, item_test = ds["test"]["image"][:], ds["test"]["item"][:]
    before = violations(model, x_test, item_test, text, parent)
    history = fit_order_embedding(model, ds["train"]["image"][:], ds["train"]["item"][:], text, parent,
                                  epochs=150, progress=False)
    after = violations(model, x_test, item_test, text, parent)
    assert history[-1] < history[0] / 3
    assert before["error"] > 0.3 and after["error"] < 0.15, (before, after)


def test_fit_order_embedding_errors():
    ds, text, parent = hierarchy_tensors()
    model = OrderEmbedding(24, 16, out_dim=2)
    x, item = ds["train"]["image"][:5], ds["train"]["item"][:5]
    with pytest.raises(ValueError, match="x_parent must hold one concept index"):
        fit_order_embedding(model, x, item[:3], text, parent, epochs=1)
    with pytest.raises(ValueError, match="y must have one row per concept"):
        fit_order_embedding(model, x, item, text[:5], parent, epochs=1)
    with pytest.raises(ValueError, match="negatives must be a positive integer"):
        fit_order_embedding(model, x, item, text, parent, negatives=0)
    with pytest.raises(TypeError, match="x and y must be torch tensors"):
        fit_order_embedding(model, x.numpy(), item, text, parent)
    with pytest.raises(TypeError, match="must be an OrderEmbedding"):
        fit_order_embedding(torch.nn.Linear(2, 2), x, item, text, parent)


def test_docstring_examples():
    result = doctest.testmod(order_module)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_are_exported():
    import mmcourse.data as data
    import mmcourse.data.hierarchy as hierarchy
    import mmcourse.exercises as exercises
    import mmcourse.exercises.coordination as coordination_exercises
    import mmcourse.representation as representation
    import mmcourse.representation.coordination as coordination

    from mmcourse.representation.coordination import relations

    assert set(coordination.__all__) == {"CCAResult", "cca", "cca_objective", "DeepCCA", "fit_deep_cca",
                                         "order_penalty", "order_loss", "order_violations", "OrderEmbedding",
                                         "fit_order_embedding", *relations.__all__}
    for module, package in ((coordination, representation), (hierarchy, data), (coordination_exercises, exercises)):
        for name in module.__all__:
            assert getattr(package, name) is getattr(module, name), name
    assert callable(representation.cca)     # the function, though a submodule has the same name
