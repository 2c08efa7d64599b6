"""The generation explorer of Part 5: every view decodes what it says, the static figure holds every (model,
direction), the live step is fast, and bad input is refused with a message."""
import time

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.generation import MMVAE, MVAE
from mmcourse.widgets import GENERATION_DIRECTIONS, GenerationExplorer, latent_point

DATA = {"image": torch.rand(12, 8, 8), "audio": torch.rand(12, 12, 16), "label": torch.arange(12) % 10}


def first_pixels(x):  # a stand-in classifier: the brightest of the first ten pixels
    return x.flatten(1)[:, :10]


@pytest.fixture(scope="module")
def explorer():
    set_seed(0)
    return GenerationExplorer({"MVAE": MVAE(), "MMVAE": MMVAE()}, DATA,
                              {"image": first_pixels, "audio": first_pixels}, examples=[0, 3, 5])


def test_latent_point():
    z = latent_point(5, -1.0, 2)
    assert z.shape == (1, 5) and z[0].tolist() == [-1.0, 2.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="latent must be an integer >= 2"):
        latent_point(1, 0.0, 0.0)
    with pytest.raises(ValueError, match="z2 must be a finite number"):
        latent_point(4, 0.0, float("nan"))


def test_cross_generation_view_decodes_the_source(explorer):
    model = explorer.models["MVAE"]
    view = explorer.generate("MVAE", "audio → image", index=3)
    assert np.allclose(view["audio"], DATA["audio"][3].numpy())  # the source, as given
    expected = model.cross_generate(DATA["audio"][3:4], source="audio", target="image")[0]
    assert np.allclose(view["image"], expected.detach().numpy(), atol=1e-6)
    assert view["source label"] == 3
    assert view["read"]["image"] == int(first_pixels(torch.as_tensor(view["image"])[None]).argmax())
    verdict = "coherent" if view["read"]["image"] == 3 else "not coherent"
    assert f"({verdict})" in GenerationExplorer._title(view)


def test_joint_view_decodes_the_latent_point(explorer):
    model = explorer.models["MMVAE"]
    view = explorer.generate("MMVAE", "joint", z1=1.0, z2=-2.0)
    z = latent_point(model.latent, 1.0, -2.0)
    with torch.no_grad():
        assert np.allclose(view["audio"], torch.sigmoid(model.decoders[1](z))[0].numpy(), atol=1e-6)
    assert view["source label"] is None and "joint sample" in GenerationExplorer._title(view)
    assert model.training  # the explorer leaves the model's mode as it found it


def test_static_figure_holds_every_model_and_direction(explorer):
    fig = explorer.static_figure()
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == [f"{m}: {d}" for m in ("MVAE", "MMVAE") for d in GENERATION_DIRECTIONS]
    steps = [len(s.steps) for s in fig.layout.sliders]
    assert steps == [3, 3, 25] * 2  # three sources each way, a 5 x 5 latent grid for joint samples
    assert sum(s.visible for s in fig.layout.sliders) == 1
    assert fig.data[0].z.dtype == np.uint8 and fig.data[0].z.shape == (8, 8)


def test_live_step_is_fast(explorer):
    ui = explorer.live()
    start = time.perf_counter()
    for _ in range(5):
        ui.draw()
    assert (time.perf_counter() - start) / 5 < 0.2  # the budget for a live step


def test_errors(explorer):
    with pytest.raises(ValueError, match="model must be one of"):
        explorer.generate("VAE", "joint")
    with pytest.raises(ValueError, match="direction must be one of"):
        explorer.generate("MVAE", "image to audio", index=0)
    with pytest.raises(ValueError, match=r"index must be a row in 0..11"):
        explorer.generate("MVAE", "image → audio", index=12)
    with pytest.raises(ValueError, match="at least one"):
        GenerationExplorer({}, DATA, {"image": first_pixels, "audio": first_pixels})
    with pytest.raises(ValueError, match="must be a joint model"):
        GenerationExplorer({"x": torch.nn.Linear(2, 2)}, DATA, {"image": first_pixels, "audio": first_pixels})
    with pytest.raises(ValueError, match="same number of rows"):
        GenerationExplorer({"MVAE": MVAE()}, {**DATA, "label": DATA["label"][:5]},
                           {"image": first_pixels, "audio": first_pixels})
    with pytest.raises(ValueError, match="callable for 'audio'"):
        GenerationExplorer({"MVAE": MVAE()}, DATA, {"image": first_pixels})
    with pytest.raises(ValueError, match="examples must be row numbers"):
        GenerationExplorer({"MVAE": MVAE()}, DATA, {"image": first_pixels, "audio": first_pixels}, examples=[40])
