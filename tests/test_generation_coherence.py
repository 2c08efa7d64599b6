"""Part 5.4's shared measures: cross-modal and joint coherence, and the CLIPScore-style alignment score."""
import numpy as np
import pytest
import torch

from mmcourse.generation import alignment_score, cross_coherence, joint_coherence, predicted_labels


def test_predicted_labels_from_logits_labels_and_modules():
    logits = torch.tensor([[0.1, 0.9, 0.0], [2.0, -1.0, 0.5]])
    assert predicted_labels(lambda x: x, logits).tolist() == [1, 0]
    assert predicted_labels(lambda x: torch.tensor([2, 2]), logits).tolist() == [2, 2]
    module = torch.nn.Sequential(torch.nn.Dropout(0.9), torch.nn.Identity())
    module.train()
    for _ in range(5):  # evaluation mode: the dropout does not touch the logits
        assert predicted_labels(module, logits).tolist() == [1, 0]
    assert module.training  # and the module is left as it was
    with pytest.raises(ValueError, match=r"logits \(N, C\) or integer labels"):
        predicted_labels(lambda x: x[:1], logits)
    with pytest.raises(ValueError, match=r"logits \(N, C\) or integer labels"):
        predicted_labels(lambda x: x[:, 0], logits)  # float labels are not labels
    with pytest.raises(TypeError, match="must be callable"):
        predicted_labels("classifier", logits)
    with pytest.raises(TypeError, match="must return a tensor"):
        predicted_labels(lambda x: [1, 0], logits)


def test_cross_coherence_counts_agreements():
    rng = np.random.default_rng(0)
    labels = torch.as_tensor(rng.integers(0, 4, 50))
    predicted = labels.clone()
    predicted[:13] = (predicted[:13] + 1) % 4  # 13 of the 50 generated samples read as another class
    generated = torch.nn.functional.one_hot(predicted, 4).float() * 3.0
    assert cross_coherence(generated, labels, lambda x: x) == pytest.approx(37 / 50)
    assert cross_coherence(generated, labels.numpy(), lambda x: x.argmax(1)) == pytest.approx(37 / 50)
    with pytest.raises(ValueError, match=r"source_labels must be integer labels of shape \(50,\)"):
        cross_coherence(generated, labels[:49], lambda x: x)
    with pytest.raises(ValueError, match="source_labels must be integer labels"):
        cross_coherence(generated, labels.float(), lambda x: x)
    with pytest.raises(ValueError, match="NaN or infinite"):
        cross_coherence(torch.full((2, 4), float("nan")), torch.tensor([0, 1]), lambda x: x)
    with pytest.raises(ValueError, match="non-empty batch"):
        cross_coherence(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), lambda x: x)
    with pytest.raises(TypeError, match="generated must be a torch.Tensor"):
        cross_coherence([[1.0]], torch.tensor([0]), lambda x: x)


def test_joint_coherence_is_the_share_of_agreeing_pairs():
    a = torch.eye(3)[[0, 1, 2, 2]]
    b = torch.eye(3)[[0, 2, 2, 1]]
    assert joint_coherence(a, b, lambda x: x, lambda x: x) == pytest.approx(0.5)
    assert joint_coherence(a, a, lambda x: x, lambda x: x) == 1.0
    with pytest.raises(ValueError, match="must pair up"):
        joint_coherence(a, b[:3], lambda x: x, lambda x: x)


def test_alignment_score_is_clipscore():
    rng = np.random.default_rng(1)
    image, text = rng.normal(size=(20, 6)), rng.normal(size=(20, 6))
    cosine = (image * text).sum(1) / np.linalg.norm(image, axis=1) / np.linalg.norm(text, axis=1)
    expected = 2.5 * np.maximum(cosine, 0)  # Hessel et al. (2021), eq. (1)
    score = alignment_score(torch.tensor(image), torch.tensor(text))
    assert score.shape == (20,) and np.allclose(score.numpy(), expected)
    assert (cosine < 0).any() and (score[torch.tensor(cosine < 0)] == 0).all()
    assert np.allclose(alignment_score(torch.tensor(image), torch.tensor(text), w=100).numpy(), 40 * expected)
    # scale-free: only directions matter
    assert torch.allclose(alignment_score(torch.tensor(image) * 7, torch.tensor(text)), score)


def test_alignment_score_errors():
    z = torch.ones(3, 4)
    with pytest.raises(ValueError, match="same shape"):
        alignment_score(z, torch.ones(3, 5))
    with pytest.raises(ValueError, match="float tensor"):
        alignment_score(torch.ones(3, 4, dtype=torch.long), z)
    with pytest.raises(ValueError, match="NaN or infinite"):
        alignment_score(z, torch.full((3, 4), float("inf")))
    with pytest.raises(ValueError, match="w must be a positive number"):
        alignment_score(z, z, w=0)
    with pytest.raises(TypeError, match="text_embeddings must be a torch.Tensor"):
        alignment_score(z, [[1.0] * 4] * 3)


def test_fit_judge_learns_real_labels_and_is_seeded():
    from mmcourse.generation import digits_pair_tensors, fit_judge
    image, _, label = digits_pair_tensors("train")
    test_image, _, test_label = digits_pair_tensors("test")
    judge = fit_judge(image, label, seed=1)
    assert not judge.training
    assert cross_coherence(test_image, test_label, judge) >= 0.9  # real test images: the judge reads them well
    again = fit_judge(image, label, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(judge.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ValueError, match="samples must be a float tensor"):
        fit_judge(torch.ones(5, dtype=torch.long), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        fit_judge(image[:5], label[:5], hidden=0)
