"""The teacher / kd / dfkd commands on real MNIST: floors, run folders, resume, and bad input."""

import json

import pytest
import torch

from tests.cli_helpers import run_cli
from vision.data import ImageSet
from vision.models import build_model
from vision.train import TrainConfig, accuracy, distill_on_data
from vision.weights import save_model

SHORT_DAFL = ["--hp", "epochs=2", "--hp", "iterations=15", "--hp", "ngf=8", "--hp", "batch_size=64"]


def test_teacher_floor(mnist_teacher):
    _, test_accuracy = mnist_teacher
    assert test_accuracy >= 0.96


def test_teacher_command_passes_its_optimiser_settings(monkeypatch, tmp_path, capsys):
    import vision.run

    seen = {}

    def fake_train_teacher(dataset, arch, out, *, config, **_):
        seen["config"] = config
        return {"test_accuracy": 0.5, "seconds": 0.0}

    monkeypatch.setattr(vision.run, "train_teacher", fake_train_teacher)
    code, _, _ = run_cli(["teacher", "mnist", "--out", str(tmp_path / "t.pt"), "--epochs", "3", "--lr", "0.002",
                          "--weight-decay", "5e-4"], capsys)
    assert code == 0 and seen["config"] == TrainConfig(epochs=3, lr=0.002, weight_decay=5e-4)
    code, _, stderr = run_cli(["teacher", "mnist", "--out", str(tmp_path / "t.pt"), "--lr", "0"], capsys)
    assert code != 0 and "lr must be > 0" in stderr
    code, _, stderr = run_cli(["teacher", "mnist", "--out", str(tmp_path / "t.pt"), "--weight-decay", "-1"], capsys)
    assert code != 0 and "weight_decay must be ≥ 0" in stderr


def test_kd_with_real_data_beats_floor(mnist, mnist_teacher):
    from vision.weights import load_model

    train, test = mnist
    subset = ImageSet(train.name, train.images[20000:30000], train.labels[20000:30000], 10, train.mean, train.std)
    torch.manual_seed(0)
    student = build_model("lenet5-half", 1, 10)
    distill_on_data(student, load_model(mnist_teacher[0]), subset, TrainConfig(epochs=2, batch_size=64, lr=2e-3),
                    test=test)
    assert accuracy(student, test) >= 0.90


def test_dafl_short_run_writes_a_resumable_folder(mnist_teacher, tmp_path, capsys, data_root):
    teacher, _ = mnist_teacher
    out = tmp_path / "dafl"
    args = ["dfkd", "--teacher", str(teacher), "--method", "dafl", "--out", str(out), "--data-root", str(data_root),
            *SHORT_DAFL]
    code, stdout, stderr = run_cli(args, capsys)
    assert code == 0, stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final_accuracy"] >= 0.5  # from 10 % at initialisation, with 30 generator steps
    assert metrics["synthesis_total_seconds"] > 0 and metrics["kd_total_seconds"] > 0
    assert metrics["protocol"]["generator_precision"] == "float32"
    assert {"samples.png", "curves.png", "student.pt", "report.md", "config.json"} <= {p.name for p in out.iterdir()}
    assert not (out / "checkpoint.pt").exists()
    code, _, stderr = run_cli([*args[:-2], "--hp", "batch_size=32"], capsys)
    assert code == 2 and "different run" in stderr


@pytest.mark.parametrize("case,message", [
    ("classes", "outputs (5,) but mnist has 10 classes"),
    ("pickled", "weights-only"),
    ("method", "unknown data-free KD method"),
    ("hyper", "unknown hyper-parameter"),
    ("no-bn", "has no BatchNorm layer"),
    ("bare", "bare state dict; say which architecture"),
    ("bare-wrong-arch", "does not fit lenet5-half"),
])
def test_bad_input_fails_before_training(case, message, tmp_path, capsys, data_root):
    teacher = tmp_path / "teacher.pt"
    if case == "classes":
        save_model(teacher, build_model("lenet5", 1, 5))
    elif case == "pickled":
        torch.save(build_model("lenet5", 1, 10), teacher)
    elif case.startswith("bare"):
        torch.save(build_model("lenet5", 1, 10).state_dict(), teacher)
    else:
        save_model(teacher, build_model("lenet5", 1, 10))
    method = {"method": "dafll", "no-bn": "fastdfkd-5"}.get(case, "dafl")
    extra = {"hyper": ["--hp", "ngff=3"], "bare-wrong-arch": ["--teacher-arch", "lenet5-half"]}.get(case, [])
    code, _, stderr = run_cli(["dfkd", "--teacher", str(teacher), "--method", method, "--out", str(tmp_path / "o"),
                               "--data-root", str(data_root), *extra], capsys)
    assert code == 2 and message in stderr
    assert not (tmp_path / "o" / "checkpoint.pt").exists()
    if case == "no-bn":
        assert not (tmp_path / "o").exists()  # refused before the run folder is made


def test_a_bare_state_dict_teacher_loads_with_its_architecture(mnist, tmp_path):
    from vision.run import load_teacher

    _, test = mnist
    torch.manual_seed(0)
    net = build_model("lenet5", 1, 10)
    torch.save(net.state_dict(), tmp_path / "bare.pt")
    teacher = load_teacher(tmp_path / "bare.pt", test, torch.device("cpu"), arch="lenet5")
    x = test.images[:4]
    torch.testing.assert_close(teacher(x), net.eval()(x))


def test_rco_student_follows_the_teacher_route(mnist):
    from vision.kd.rco import RouteSchedule
    from vision.train import train_classifier

    train, test = mnist
    small = ImageSet(train.name, train.images[:3000], train.labels[:3000], 10, train.mean, train.std)
    torch.manual_seed(0)
    teacher = build_model("lenet5", 1, 10)
    anchors = train_classifier(teacher, small, TrainConfig(epochs=3, batch_size=64), anchor_every=1)["anchors"]
    assert len(anchors) == 3
    assert all(torch.equal(a, b) for a, b in zip(anchors[-1].state_dict().values(),
                                                  teacher.state_dict().values(), strict=True))
    student = build_model("lenet5-half", 1, 10)
    route = RouteSchedule(anchors, epochs=3)
    distill_on_data(student, route, small, TrainConfig(epochs=3, batch_size=64), seed=0)
    assert accuracy(student, test) >= 0.6
    with pytest.raises(Exception, match="spans 3 epochs"):
        distill_on_data(student, route, small, TrainConfig(epochs=2))


@pytest.mark.parametrize("extra,message", [
    (["--feature-loss", "spp", "--feature-weight", "1"], "unknown KD loss"),
    (["--feature-loss", "sp"], "weight > 0"),
    (["--anchors", "ANCHOR", "ANCHOR", "--epochs", "2"], "at least as many"),
    (["--anchors", "SMALL"], "outputs (5,) but mnist has 10 classes"),
])
def test_kd_refuses_bad_feature_losses_and_routes_before_training(extra, message, tmp_path, capsys, data_root):
    teacher, anchor, small = tmp_path / "teacher.pt", tmp_path / "anchor.pt", tmp_path / "small.pt"
    save_model(teacher, build_model("lenet5", 1, 10))
    save_model(anchor, build_model("lenet5", 1, 10))
    save_model(small, build_model("lenet5", 1, 5))
    extra = [{"ANCHOR": str(anchor), "SMALL": str(small)}.get(a, a) for a in extra]
    code, _, stderr = run_cli(["kd", "--teacher", str(teacher), "--data-root", str(data_root), *extra], capsys)
    assert code == 2 and message in stderr
