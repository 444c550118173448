"""Model shapes, feature layers, and safe checkpoint loading."""

import pytest
import torch

from graphdistill.core.errors import UserError
from vision.kd import FeatureHooks
from vision.models import MODELS, build_model, penultimate_layer, stage_layers
from vision.weights import load_model, save_model


@pytest.mark.parametrize("name,channels", [("lenet5", 1), ("lenet5-half", 1), ("resnet18", 3), ("resnet34", 3),
                                           ("wrn-16-1", 3), ("wrn-16-2", 3), ("wrn-40-1", 3), ("wrn-40-2", 3)])
def test_shapes_and_named_layers(name, channels):
    model = build_model(name, in_channels=channels, num_classes=7).eval()
    x = torch.randn(2, channels, 32, 32)
    names = [penultimate_layer(model), *stage_layers(model)]
    with FeatureHooks(model, names) as feats:
        assert model(x).shape == (2, 7)
    assert feats[names[0]].flatten(1).shape[0] == 2
    assert all(feats[n].dim() == 4 for n in names[1:])


def test_lenet5_half_is_the_smaller_student():
    teacher, student = build_model("lenet5", 1, 10), build_model("lenet5-half", 1, 10)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(teacher) == 61706 and count(student) < count(teacher) / 3
    with pytest.raises(UserError, match="32×32"):
        teacher(torch.randn(1, 1, 28, 28))
    assert "lenet5" in MODELS and "wrn-40-2" in MODELS


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    model = build_model("lenet5", 1, 10)
    save_model(tmp_path / "t.pt", model, test_accuracy=0.9)
    again = load_model(tmp_path / "t.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))

    torch.save(model.state_dict(), tmp_path / "bare.pt")
    assert isinstance(load_model(tmp_path / "bare.pt", arch="lenet5"), torch.nn.Module)
    with pytest.raises(UserError, match="architecture"):
        load_model(tmp_path / "bare.pt")
    with pytest.raises(UserError, match="does not fit lenet5-half"):
        load_model(tmp_path / "bare.pt", arch="lenet5-half")
    with pytest.raises(UserError, match="not a state dict of wrn-16-1"):
        load_model(tmp_path / "bare.pt", arch="wrn-16-1")
    with pytest.raises(UserError, match="does not fit"):
        load_model(tmp_path / "bare.pt", arch="lenet5", num_classes=100)
    with pytest.raises(UserError, match="not a lenet5-half"):
        load_model(tmp_path / "t.pt", arch="lenet5-half")
    torch.save(model, tmp_path / "pickled.pt")  # a whole pickled module: refused, never unpickled
    with pytest.raises(UserError, match="weights-only"):
        load_model(tmp_path / "pickled.pt", arch="lenet5")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(UserError):
        load_model(tmp_path / "junk.pt", arch="lenet5")
    with pytest.raises(UserError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_models_that_cannot_take_the_data_are_refused_before_training():
    from vision.data import to_image_set
    from vision.train import check_compatible

    digits = to_image_set("mnist", torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4), 10, size=32)
    with pytest.raises(UserError, match="cannot take mnist images of shape"):
        check_compatible(build_model("resnet18", in_channels=3, num_classes=10), digits)
    with pytest.raises(UserError, match="outputs"):
        check_compatible(build_model("lenet5", in_channels=1, num_classes=100), digits)
    check_compatible(build_model("lenet5-half", in_channels=1, num_classes=10), digits)
