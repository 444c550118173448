"""Generator-based data-free KD: loss terms, the student/teacher wiring, the loop's accounting,
warm-up/freeze, resume, bad input — and a short real run on MNIST with a floor."""

import math

import pytest
import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.errors import UserError
from vision.dfkd.generator import Generator, GeneratorSynthesizer
from vision.dfkd.loop import DataFreeKD, KDLoopConfig
from vision.dfkd.methods import DFKD_METHODS
from vision.dfkd.objectives import GeneratorObjective, diversity_loss, entropy_loss, one_hot_loss
from vision.kd.logits import l1_discrepancy
from vision.models import build_model


def models(seed=0):
    torch.manual_seed(seed)
    return build_model("lenet5", 1, 10).eval(), build_model("lenet5-half", 1, 10), Generator(nz=8, ngf=8)


def synthesizer(teacher, student, generator, weights, **kwargs):
    objective = GeneratorObjective(weights, **{k: kwargs.pop(k) for k in ("exponential",) if k in kwargs})
    return GeneratorSynthesizer(teacher, student, generator, objective, batch_size=8,
                                feature_layer="features", **kwargs)


def test_information_entropy_one_hot_and_diversity_values():
    assert entropy_loss(torch.zeros(6, 10)).item() == pytest.approx(-1.0)  # log10 of a uniform p̄
    assert entropy_loss(torch.zeros(6, 10), log_base=math.e).item() == pytest.approx(-math.log(10))
    confident = torch.tensor([[20.0, 0.0], [0.0, 20.0]])
    assert one_hot_loss(confident).item() == pytest.approx(0.0, abs=1e-6)
    images = torch.tensor([[[[0.0]]], [[[1.0]]], [[[2.0]]], [[[5.0]]]])
    logits = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    p = torch.softmax(logits, 1)
    gap = ((images[:2] - images[2:]).abs().mean() / (p[:2] - p[2:]).abs().mean()).item()
    assert diversity_loss(images, logits).item() == pytest.approx(1 / gap)


def test_exponential_terms_use_references_refreshed_per_epoch():
    objective = GeneratorObjective({"one_hot": 1.0, "entropy": 2.0}, exponential=("one_hot", "entropy"))
    images, logits = torch.zeros(4, 1, 2, 2), torch.randn(4, 10)
    total, _ = objective(images, logits)
    assert total.item() == pytest.approx(3.0)  # exp(0) per term at the first step of an epoch
    total, _ = objective(images, logits * 3)
    assert total.item() != pytest.approx(3.0)  # references kept within the epoch
    objective.start_epoch()
    assert objective(images, logits * 3)[0].item() == pytest.approx(3.0)
    with pytest.raises(UserError, match="unknown generator loss"):
        GeneratorObjective({"one_hott": 1.0})


def test_adversarial_term_is_computed_with_the_student_not_the_teacher():
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"adversarial_l1": 1.0})
    report = synth.synthesize()
    gap = report.losses["adversarial_l1"]
    assert gap < -1e-3  # −log(L1 + 1) is exactly 0 when the "student" is the teacher
    # Recompute the term with the real student on the batch the synthesizer optimised.
    x = synth._last
    with torch.no_grad():
        expected = -math.log(l1_discrepancy(student.eval()(x), teacher(x)).item() + 1)
    assert gap == pytest.approx(expected, rel=0.2)  # same batch, generator moved by one step
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())
    assert all(p.grad is None for p in student.parameters())  # the student is not updated by G's step
    with pytest.raises(UserError, match="is the teacher"):
        synthesizer(teacher, teacher, generator, {"adversarial_l1": 1.0})


class _StopBeforeTraining(Exception):
    pass


@pytest.mark.parametrize("method", ["dafl", "rdskd", "dfad", "zskt"])
def test_run_wires_the_student_into_the_generator_and_the_kd_loop(method, tmp_path, monkeypatch, data_root):
    """Through ``dfkd_run`` (presets, CLI path), the generator's adversarial / student terms see the
    very student the KD loop trains — the wiring where a unified codebase once passed the teacher."""
    import vision.run as run
    from vision.weights import save_model

    seen = {}

    def spy(teacher, student, synthesizer, config, **kwargs):
        seen.update(teacher=teacher, student=student, synthesizer=synthesizer)
        raise _StopBeforeTraining

    monkeypatch.setattr(run, "DataFreeKD", spy)
    teacher_path = tmp_path / "teacher.pt"
    save_model(teacher_path, build_model("lenet5", 1, 10))
    with pytest.raises(_StopBeforeTraining):
        run.dfkd_run(teacher_path, "lenet5-half", method, out=tmp_path / "run", data_root=data_root,
                     device="cpu", progress=False)
    synth = seen["synthesizer"]
    assert synth.student is seen["student"] and synth.student is not seen["teacher"]
    assert synth.teacher is seen["teacher"]
    assert sum(p.numel() for p in synth.student.parameters()) < sum(p.numel() for p in synth.teacher.parameters())
    adversarial = {"adversarial_l1", "adversarial_kl"} & set(DFKD_METHODS.get(method).weights)
    assert bool(adversarial) == (method in ("dfad", "zskt"))


def _initial_weights(monkeypatch, target: str, call) -> dict:
    """The state of the model ``call`` passes to ``vision.run.<target>``, stopped before any training."""
    import vision.run as run

    seen = {}

    def spy(*args, **kwargs):
        model = kwargs.get("student", args[1] if target == "DataFreeKD" else args[0])
        seen.update({k: v.clone() for k, v in model.state_dict().items()})
        raise _StopBeforeTraining

    monkeypatch.setattr(run, target, spy)
    with pytest.raises(_StopBeforeTraining):
        call(run)
    return seen


def test_a_seed_fixes_the_students_and_the_teachers_initialisation(tmp_path, monkeypatch, data_root):
    """The seed, not whatever drew from the global generator before, sets the initial weights
    (they were once built before seeding: every seed got the same student, and a process's earlier
    work changed it)."""
    from vision.weights import save_model

    teacher_path = tmp_path / "teacher.pt"
    save_model(teacher_path, build_model("lenet5", 1, 10))

    def student(seed: int) -> dict:
        torch.rand(1000)  # earlier work in the same process
        return _initial_weights(monkeypatch, "DataFreeKD", lambda run: run.dfkd_run(
            teacher_path, "lenet5-half", "dafl", seed=seed, out=tmp_path / f"run{seed}-{torch.rand(1).item()}",
            data_root=data_root, device="cpu", progress=False))

    def teacher(seed: int) -> dict:
        torch.rand(1000)
        return _initial_weights(monkeypatch, "train_classifier", lambda run: run.train_teacher(
            "mnist", "lenet5", tmp_path / "t.pt", seed=seed, data_root=data_root, device="cpu"))

    for build in (student, teacher):
        first, again, other = build(0), build(0), build(1)
        assert all(torch.equal(first[k], again[k]) for k in first)
        assert not all(torch.equal(first[k], other[k]) for k in first)


def test_student_copy_of_teacher_gives_zero_adversarial_signal():
    teacher, _, generator = models()
    twin = build_model("lenet5", 1, 10)
    twin.load_state_dict(teacher.state_dict())
    report = synthesizer(teacher, twin, generator, {"adversarial_l1": 1.0}).synthesize()
    assert report.losses["adversarial_l1"] == pytest.approx(0.0, abs=1e-7)


def test_sample_shift_moves_student_batches_not_the_generator_batch():
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"one_hot": 1.0}, reuse_last=True, sample_shift=2, fill=-1.0)
    synth.synthesize()
    last = synth._last.clone()
    torch.manual_seed(1)
    shifted = synth.sample()
    assert shifted.shape == last.shape and not torch.equal(shifted, last)
    assert torch.equal(synth._last, last)  # the generator's batch itself is untouched
    # a bilinear shift mixes neighbouring pixels and the fill: every value stays within their range
    low, high = min(float(last.min()), -1.0), max(float(last.max()), -1.0)
    assert float(shifted.min()) >= low - 1e-5 and float(shifted.max()) <= high + 1e-5
    synth.sample_shift = 0
    assert torch.equal(synth.sample(), last)
    with pytest.raises(UserError, match="sample_shift"):
        synthesizer(teacher, student, generator, {"one_hot": 1.0}, sample_shift=-1)


def test_replay_mixes_earlier_generator_batches_into_student_batches_and_resumes():
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"adversarial_l1": 1.0}, replay=0.25, replay_capacity=16)
    assert synth.sample().shape == (8, 1, 32, 32)  # nothing to replay yet: all fresh
    trained_on = []
    for _ in range(3):
        synth.synthesize()
        trained_on.append(synth._last.clone())
    assert len(synth.pool) == 16  # a ring buffer: the first batch was overwritten
    batch = synth.sample()
    assert batch.shape == (8, 1, 32, 32)
    earlier = torch.cat(trained_on[1:]).flatten(1)
    fresh, replayed = batch[:6].flatten(1), batch[6:].flatten(1)
    assert all((earlier == row).all(1).any() for row in replayed)  # 2 of 8 are stored generator images
    assert not any((earlier == row).all(1).any() for row in fresh)
    restored = synthesizer(teacher, student, Generator(nz=8, ngf=8), {"adversarial_l1": 1.0}, replay=0.25,
                           replay_capacity=16)
    restored.load_state_dict(synth.state_dict())
    assert torch.equal(restored.pool.images, synth.pool.images)
    for bad, match in (({"replay": 1.0, "replay_capacity": 16}, "replay"),
                       ({"replay": 0.5, "replay_capacity": 4}, "replay_capacity")):
        with pytest.raises(UserError, match=match):
            synthesizer(teacher, student, generator, {"adversarial_l1": 1.0}, **bad)


def test_generator_cosine_schedule_sets_the_rate_each_epoch():
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"one_hot": 1.0}, lr=0.2, cosine_epochs=4)
    rates = []
    for epoch in range(5):
        synth.start_epoch(epoch)
        rates.append(synth.optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx([0.2, 0.2 * (1 + math.cos(math.pi / 4)) / 2, 0.1,
                                   0.2 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.0])
    constant = synthesizer(teacher, student, generator, {"one_hot": 1.0}, lr=0.2)
    constant.start_epoch(3)
    assert constant.optimizer.param_groups[0]["lr"] == 0.2
    with pytest.raises(UserError, match="generator_schedule"):
        DFKD_METHODS.get("dfad").with_overrides({"generator_schedule": "linear"})


def test_bfloat16_generator_gives_float32_images_close_to_float32_and_trains():
    teacher, student, generator = models()
    generator.train()
    full = synthesizer(teacher, student, generator, {"adversarial_l1": 1.0})
    half = synthesizer(teacher, student, generator, {"adversarial_l1": 1.0}, precision="bfloat16")
    torch.manual_seed(3)
    reference = full.generate()
    torch.manual_seed(3)
    images = half.generate()
    assert images.dtype == torch.float32 and images.shape == reference.shape
    # same noise, same weights: bfloat16 keeps ~3 significant digits of unit-variance pixels
    assert (images - reference).abs().max() < 0.1 and not torch.equal(images, reference)
    before = [p.detach().clone() for p in generator.parameters()]
    assert math.isfinite(half.synthesize().losses["adversarial_l1"])
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(before, generator.parameters(), strict=True))
    with pytest.raises(UserError, match="generator_precision"):
        DFKD_METHODS.get("dfad").with_overrides({"generator_precision": "float16"})


def run_loop(tmp_path, config, interrupt_after=None, name="ckpt.pt"):
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"one_hot": 1.0, "entropy": 5.0, "activation": 0.1},
                        reuse_last=True)

    class Stop(Exception):
        pass

    def maybe_stop(epoch, history, report):
        if interrupt_after is not None and epoch + 1 == interrupt_after:
            raise Stop

    loop = DataFreeKD(teacher, student, synth, config, on_epoch_end=maybe_stop)
    try:
        history = loop.run(Checkpoint(tmp_path / name))
    except Stop:
        return None, student, generator
    return history, student, generator


def test_loop_resumes_to_the_same_student(tmp_path):
    config = KDLoopConfig(epochs=3, iterations=2, kd_steps=2)
    straight, student_a, _ = run_loop(tmp_path, config, name="a.pt")
    assert run_loop(tmp_path, config, interrupt_after=2, name="b.pt")[0] is None
    resumed, student_b, _ = run_loop(tmp_path, config, name="b.pt")
    for a, b in zip(student_a.state_dict().values(), student_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.kd_loss == straight.kd_loss


def test_warmup_trains_only_the_generator_then_freeze_stops_it(tmp_path):
    config = KDLoopConfig(epochs=3, iterations=2, kd_steps=1, warmup_epochs=1, freeze_after_warmup=True)
    teacher, student, generator = models()
    synth = synthesizer(teacher, student, generator, {"one_hot": 1.0, "entropy": 1.0, "diversity": 1.0},
                        exponential=("one_hot", "entropy"))
    student_before = [p.detach().clone() for p in student.parameters()]
    generator_seen = []
    loop = DataFreeKD(teacher, student, synth, config,
                      on_epoch_end=lambda e, h, r: generator_seen.append(
                          [p.detach().clone() for p in [*generator.parameters(), *generator.buffers()]]))
    history = loop.run()
    assert history.kd_seconds[0] == 0 and math.isnan(history.kd_loss[0]) and history.kd_seconds[1] > 0
    assert history.synthesis_seconds[0] > 0
    assert all(torch.equal(a, b) for a, b in zip(generator_seen[1], generator_seen[2], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(student_before, student.parameters(), strict=True))
    assert loop.learning_rate(0) == config.student_lr and loop.learning_rate(2) < config.student_lr


def test_method_presets_and_bad_overrides():
    assert set(DFKD_METHODS.names()) == {"dafl", "dfad", "rdskd", "zskt", "dfq", "deepinversion", "cmi",
                                         "fastdfkd-2", "fastdfkd-5", "fastdfkd-10"}
    dafl = DFKD_METHODS.get("dafl")
    assert dafl.weights == {"one_hot": 1.0, "entropy": 5.0, "activation": 0.1} and dafl.bn_eps == 0.8
    assert dafl.with_overrides({"epochs": 3}).epochs == 3
    with pytest.raises(UserError, match="unknown hyper-parameter"):
        dafl.with_overrides({"epoch": 3})
    with pytest.raises(UserError, match="must be int"):
        dafl.with_overrides({"epochs": "many"})
    with pytest.raises(UserError, match="cannot be overridden"):
        dafl.with_overrides({"weights": {}})
    with pytest.raises(UserError, match="warmup_epochs"):
        KDLoopConfig(epochs=2, warmup_epochs=2)
