"""Part 5.2, translation: caption parsing and measures, the three decoders, exemplar retrieval and round trips."""
import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.data import encode_words, render_scene
from mmcourse.generation import (N_KINDS, CaptionToImage, CrossDecoder, ImageToCaption, caption_kinds,
                                 caption_objects, fit_translator, image_objects, nearest_neighbours, phrase_scores,
                                 retrieve_translation, round_trip, scene_coherence, within_class_spread)
from mmcourse.representation.contrastive.clip import ContrastiveModel


def ids(*texts, length=15):
    return torch.as_tensor(np.stack([encode_words(t, length) for t in texts])).long()


def oracle(kinds_per_cell):
    """A perception that reports fixed kinds per cell (12 = empty) for every image."""
    def perceive(images):
        return torch.nn.functional.one_hot(torch.tensor(kinds_per_cell), 13).float().expand(len(images), -1, -1)
    return perceive


def test_caption_objects_and_kinds():
    sets = caption_objects(ids("a red circle and a blue square", "a yellow triangle"))
    assert sets == [frozenset({(0, 1), (2, 0)}), frozenset({(3, 2)})]
    kinds = caption_kinds(ids("a red circle and a blue square"))
    assert kinds.shape == (1, N_KINDS) and kinds[0].nonzero().flatten().tolist() == [1, 6]
    assert caption_objects(ids("a red and circle")) == [frozenset()]  # a colour not followed by a shape
    with pytest.raises(ValueError, match="captions must be word ids"):
        caption_objects(torch.rand(2, 5))


def test_phrase_scores_by_hand():
    ref = ids("a red circle and a blue square", "a green square")
    pred = ids("a red circle and a red square", "a green square")
    # hits 1 + 1 = 2, predicted 2 + 1 = 3, reference 2 + 1 = 3
    scores = phrase_scores(pred, ref)
    assert scores == pytest.approx({"exact": 0.5, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert phrase_scores([frozenset()], [frozenset({(0, 0)})])["f1"] == 0.0
    with pytest.raises(ValueError, match="same number"):
        phrase_scores(pred[:1], ref)


def test_image_objects_and_coherence_with_an_oracle():
    image = torch.as_tensor(render_scene([0, 2], [1, 0], [0, 4]))[None]
    perceive = oracle([1] + [12] * 3 + [6] + [12] * 4)  # red circle in cell 0, blue square in cell 4
    assert image_objects(image, perceive) == [frozenset({(0, 1), (2, 0)})]
    captions = ids("a red circle and a blue square", "a red circle")
    assert scene_coherence(image.expand(2, -1, -1, -1), captions, perceive) == 0.5
    with pytest.raises(ValueError, match="perception must return"):
        image_objects(image, lambda x: torch.zeros(1, 9, 5))
    with pytest.raises(ValueError, match="images must be"):
        image_objects(torch.zeros(1, 8, 8), perceive)


def test_image_to_caption_shapes_gradient_and_greedy_padding():
    set_seed(0)
    model = ImageToCaption(width=4, length=6)
    images, captions = torch.rand(3, 30, 30, 3), ids("a red circle", "a blue square", "a red square", length=6)
    assert model(images, captions).shape == (3, 6, 24)
    model.loss(images, captions).backward()
    assert model.cell[0].weight.grad.abs().sum() > 0
    words = model.generate(images)
    assert words.shape == (3, 6) and words.dtype == torch.long
    for row in words.tolist():  # nothing but padding after the first <pad>
        if 0 in row:
            assert set(row[row.index(0):]) == {0}
    with pytest.raises(ValueError, match="width"):
        ImageToCaption(width=0)
    with pytest.raises(ValueError, match="captions must be an integer tensor"):
        model(images, torch.rand(3, 6))


def test_image_to_caption_learns_and_takes_a_frozen_encoder():
    set_seed(0)
    images = torch.stack([torch.as_tensor(render_scene([c], [s], [k])) for c, s, k in
                          [(0, 1, 0), (2, 0, 4), (3, 2, 8), (1, 1, 2)]])
    captions = ids("a red circle", "a blue square", "a yellow triangle", "a green circle", length=4)
    model = ImageToCaption(width=8, length=4)
    fit_translator(model, images, captions, steps=60, batch_size=4, lr=3e-2)
    assert phrase_scores(model.generate(images), captions)["exact"] == 1.0
    frozen = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2700, 5))
    model = ImageToCaption(width=4, encoder=frozen)
    model.loss(images, ids("a red circle", "a blue square", "a yellow triangle", "a green circle")).backward()
    assert frozen[1].weight.grad is None and not frozen[1].weight.requires_grad
    with pytest.raises(TypeError, match="encoder must be an nn.Module"):
        ImageToCaption(encoder=lambda x: x)


def test_caption_to_image_reads_words_or_kind_weights():
    set_seed(0)
    model = CaptionToImage(width=8)
    words = model(ids("a red square"))
    weights = torch.zeros(1, N_KINDS)
    weights[0, 0] = 1.0  # red square = colour 0 * 3 + shape 0
    assert words.shape == (1, 30, 30, 3) and torch.allclose(words, model(weights))
    assert ((words > 0) & (words < 1)).all()
    loss = model.loss(ids("a red square", "a blue circle"), torch.rand(2, 30, 30, 3))
    loss.backward()
    assert model.net[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="kind weights"):
        model(torch.rand(1, 5))


def test_caption_to_image_learns_the_conditional_mean():
    set_seed(0)
    # one caption, two images: the squared error is minimised by their average
    a, b = torch.zeros(30, 30, 3), torch.zeros(30, 30, 3)
    a[:10, :10], b[20:, 20:] = 0.8, 0.8
    model = CaptionToImage(width=8)
    fit_translator(model, ids("a red square", "a red square"), torch.stack([a, b]), steps=300, batch_size=2,
                   lr=3e-2)
    out = model(ids("a red square"))[0]
    assert abs(out[:10, :10].mean().item() - 0.4) < 0.05 and abs(out[20:, 20:].mean().item() - 0.4) < 0.05


def test_cross_decoder_and_fit_translator():
    set_seed(0)
    x = torch.rand(64, 2, 3)
    model = CrossDecoder((2, 3), 6, width=16)
    losses = fit_translator(model, x, x.flatten(1), steps=200, batch_size=32, lr=3e-2)
    assert len(losses) == 200 and losses[-1] < 0.2 * losses[0]
    assert model(x).shape == (64, 6) and not model.training
    with pytest.raises(ValueError, match="x must be a batch of shape"):
        model(torch.rand(4, 6))
    with pytest.raises(ValueError, match="source_shape"):
        CrossDecoder((0, 3), 6)
    with pytest.raises(TypeError, match="loss"):
        fit_translator(torch.nn.Linear(2, 2), x, x)
    with pytest.raises(ValueError, match="same number"):
        fit_translator(model, x, x[:3])
    with pytest.raises(ValueError, match="steps"):
        fit_translator(model, x, x.flatten(1), steps=0)


def test_nearest_neighbours_and_retrieval():
    assert nearest_neighbours(torch.tensor([[0.1, 0.9, 0.3], [0.8, 0.2, 0.5]])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="similarity must be a matrix"):
        nearest_neighbours(torch.rand(3))
    set_seed(0)
    model = ContrastiveModel([2, 2], dim=2, width=4)
    train_source, train_target = torch.randn(5, 2), torch.randn(5, 2)
    # a source equal to a training target (through the same tower) retrieves it: cos = 1
    model.encoders[0].load_state_dict(model.encoders[1].state_dict())
    model.projections[0].load_state_dict(model.projections[1].state_dict())
    out, idx = retrieve_translation(model, train_target[[3, 1]], train_source, train_target, 0)
    assert idx.tolist() == [3, 1] and torch.equal(out, train_target[[3, 1]])
    out, idx = retrieve_translation(model, train_source[[2]], train_source, train_target, 0, via="source",
                                    outputs=torch.arange(5))
    assert out.tolist() == [2]
    with pytest.raises(ValueError, match="direction"):
        retrieve_translation(model, train_source, train_source, train_target, 2)
    with pytest.raises(ValueError, match="via"):
        retrieve_translation(model, train_source, train_source, train_target, via="both")
    with pytest.raises(ValueError, match="same number"):
        retrieve_translation(model, train_source, train_source, train_target[:3])
    with pytest.raises(TypeError, match="ContrastiveModel"):
        retrieve_translation(torch.nn.Linear(2, 2), train_source, train_source, train_target)


def test_round_trip_and_spread():
    middle, back = round_trip(lambda x: x + 1, lambda y: 2 * y, torch.zeros(2))
    assert middle.tolist() == [1.0, 1.0] and back.tolist() == [2.0, 2.0]
    with pytest.raises(TypeError, match="callables"):
        round_trip(None, lambda y: y, torch.zeros(2))
    assert within_class_spread(torch.tensor([[0.0], [2.0], [5.0], [5.0]]), [0, 0, 1, 1]) == pytest.approx(0.5)
    x = torch.randn(200, 3)
    assert within_class_spread(x, torch.zeros(200, dtype=torch.long)) == pytest.approx(
        x.std(0, unbiased=False).mean().item())
    with pytest.raises(ValueError, match="labels must be integers"):
        within_class_spread(x, torch.zeros(200))
    with pytest.raises(ValueError, match="no class has two samples"):
        within_class_spread(x[:2], [0, 1])
