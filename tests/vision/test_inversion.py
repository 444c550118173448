"""Inversion-based data-free KD (DeepInversion, CMI, FastDFKD, DFQ): the BatchNorm-statistics loss and
its hooks, the first-order meta-gradients, views, priors, the pool, the refusal of BN-free teachers,
and short synthesis rounds of each method."""

import pytest
import torch
from torch import nn

from graphdistill.core.errors import UserError
from vision.dfkd.bn_stats import BatchNormStatistics, channel_statistics, total_variation
from vision.dfkd.contrastive import ContrastiveBank
from vision.dfkd.generator import Generator, GeneratorSynthesizer
from vision.dfkd.inversion import InversionSynthesizer, InversionWeights, feature_dim
from vision.dfkd.loop import DataFreeKD, KDLoopConfig
from vision.dfkd.methods import DFKD_METHODS
from vision.dfkd.objectives import GeneratorObjective, jensen_shannon_competition, masked_adversarial_kl
from vision.dfkd.pool import ImagePool
from vision.dfkd.sources import FreshGeneratorSource, MetaGeneratorSource, PixelSource
from vision.dfkd.views import random_view
from vision.models import build_model

PIXELS = (torch.tensor([-0.4242]), torch.tensor([2.8215]))  # MNIST's black and white, normalised
FLOOR_FASTDFKD_SHORT = 0.35  # 49 % measured (seed 0); 10 % is chance


def bn_teacher(seed=0):
    """LeNet-5-BN with running statistics from a few random batches (eval mode)."""
    torch.manual_seed(seed)
    teacher = build_model("lenet5-bn", 1, 10).train()
    with torch.no_grad():
        for _ in range(3):
            teacher(torch.randn(64, 1, 32, 32))
    return teacher.eval()


def test_bn_loss_is_zero_when_the_batch_reproduces_the_running_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))
    x = torch.randn(16, 3, 8, 8) * 2 + 1
    model.eval()(x)
    bn = BatchNormStatistics(model, first_multiplier=10.0)
    with torch.no_grad():  # set each layer's running statistics to its input's, in order
        for layer, before in zip(bn.layers, (lambda: x, lambda: model[1](model[0](x))), strict=True):
            mean, var = channel_statistics(before())
            layer.running_mean.copy_(mean)
            layer.running_var.copy_(var)
    with bn:
        model(x)
        assert bn.loss().item() == pytest.approx(0.0, abs=1e-5)
        model(x + 0.5)  # shifted batch: the first layer's mean is off by 0.5 per channel
        expected_first = 10.0 * 0.5 * 3 ** 0.5
        assert bn.loss().item() >= expected_first - 1e-4


def test_bn_loss_matches_the_paper_formula_and_first_layer_weight():
    teacher = bn_teacher()
    x = torch.randn(32, 1, 32, 32)
    inputs = {}
    handles = [m.register_forward_hook(lambda mod, i, o: inputs.__setitem__(mod, i[0]))
               for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
    teacher(x)
    for h in handles:
        h.remove()
    expected = 0.0
    for i, (layer, inp) in enumerate(inputs.items()):
        mean, var = inp.mean((0, 2, 3)), inp.var((0, 2, 3), unbiased=False)
        r = torch.norm(layer.running_mean - mean) + torch.norm(layer.running_var - var)
        expected += (3.0 if i == 0 else 1.0) * r
    bn = BatchNormStatistics(teacher, first_multiplier=3.0)
    with bn:
        teacher(x)
        assert bn.loss().detach().item() == pytest.approx(float(expected.detach()), rel=1e-5)


def test_hooks_are_removed_after_synthesis_and_on_error():
    teacher = bn_teacher()
    layers = [m for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
    bn = BatchNormStatistics(teacher)
    with pytest.raises(ValueError), bn:
        teacher(torch.randn(4, 1, 32, 32))
        assert all(len(m._forward_hooks) == 1 for m in layers)
        raise ValueError("boom")
    assert all(len(m._forward_hooks) == 0 for m in layers)
    synth = InversionSynthesizer(teacher, build_model("lenet5-half", 1, 10), PixelSource((1, 32, 32), 0.1, PIXELS),
                                 InversionWeights(), num_classes=10, batch_size=8, steps=2)
    synth.synthesize()
    assert all(len(m._forward_hooks) == 0 for m in layers) and not synth.bn_stats.active


def test_bn_free_teacher_is_refused_with_a_clear_message():
    teacher, student = build_model("lenet5", 1, 10), build_model("lenet5-half", 1, 10)
    with pytest.raises(UserError, match="no BatchNorm layer.*lenet5-bn"):
        InversionSynthesizer(teacher, student, PixelSource((1, 32, 32), 0.1, PIXELS), InversionWeights(),
                             num_classes=10, method="DeepInversion")
    with pytest.raises(UserError, match="no BatchNorm layer"):
        GeneratorSynthesizer(teacher, student, Generator(nz=8, ngf=8), GeneratorObjective({"bn": 1.0}))


class LinearGenerator(nn.Module):
    """A toy 'generator' x = W z, whose loss ‖W z − t‖² is a quadratic in W."""

    nz = 3

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3))

    def forward(self, z):
        return z @ self.weight.T


@pytest.mark.parametrize("rule", ["fomaml", "reptile"])
def test_first_order_meta_gradients_on_a_quadratic(rule):
    torch.manual_seed(0)
    meta = LinearGenerator()
    source = MetaGeneratorSource(meta, lr_g=0.05, lr_z=1e-9, inner_steps=3, rule=rule, reptile_scale=2.0)
    theta0 = meta.weight.detach().clone()
    groups = source.begin(batch_size=5)
    z = source.z.detach().clone()
    target = torch.randn(5, 4)
    optimizer = torch.optim.SGD([groups[0]["params"][0]], lr=0.05)  # z has lr ≈ 0: W is what adapts

    def loss():
        return ((source.render() - target) ** 2).sum()

    w = theta0.clone()
    for _ in range(3):  # the same three steps in closed form: ∇_W = 2 (W zᵀ − tᵀ) z
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
        w = w - 0.05 * 2 * (z @ w.T - target).T @ z
    assert torch.allclose(source.active.weight, w, atol=1e-5)
    grads = source.meta_gradient(loss())
    if rule == "fomaml":
        expected = 2 * (z @ w.T - target).T @ z            # the loss gradient at the adapted generator
    else:
        expected = 2.0 * (theta0 - w)                      # scale · (θ_meta − θ_adapted) = scale · Σ updates
    assert torch.allclose(grads[0], expected, atol=1e-4)
    source.finish(loss())  # one meta-Adam step: its first step is −lr_meta · sign(g), lr_meta = lr_g · k
    assert torch.allclose(meta.weight.detach() - theta0, -0.15 * expected.sign(), atol=1e-4)


def test_views_are_differentiable_identity_without_randomness_and_shift_by_whole_pixels():
    x = torch.randn(4, 1, 8, 8, requires_grad=True)
    same = random_view(x)
    assert torch.allclose(same, x, atol=1e-5)
    g = torch.Generator().manual_seed(0)
    shifted = random_view(x, max_shift=2, generator=g)
    shifted.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    flipped = random_view(x, flip=True, generator=torch.Generator().manual_seed(1))
    assert all(torch.allclose(f, x[i]) or torch.allclose(f, x[i].flip(-1), atol=1e-5)
               for i, f in enumerate(flipped.detach()))
    local = random_view(x, scale=(0.25, 0.25), generator=g)
    assert local.shape == x.shape


def test_total_variation_and_adversarial_terms_closed_form():
    flat = torch.full((2, 1, 5, 5), 3.0)
    assert total_variation(flat).item() == 0 and total_variation(flat, p=1).item() == 0
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)  # +1 to the right, 0 down
    # right diffs: 12 of −1; down: 0; the two diagonals: 9 of ±1 each.
    assert total_variation(ramp).item() == pytest.approx(12 ** 0.5 + 2 * 9 ** 0.5)
    t = torch.tensor([[3.0, 0.0], [0.0, 3.0]])
    s_agree, s_disagree = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert masked_adversarial_kl(s_disagree, t).item() == 0
    kl = torch.nn.functional.kl_div(torch.log_softmax(s_agree, 1), torch.softmax(t, 1), reduction="batchmean")
    assert masked_adversarial_kl(s_agree, t).item() == pytest.approx(-kl.item(), rel=1e-5)
    assert jensen_shannon_competition(t, t).item() == pytest.approx(1.0)


def test_pool_grows_caps_samples_and_round_trips(tmp_path):
    pool = ImagePool()
    for i in range(3):
        pool.add(torch.full((4, 1, 2, 2), float(i)))
    assert len(pool) == 12 and set(pool.images[:, 0, 0, 0].tolist()) == {0.0, 1.0, 2.0}
    assert pool.sample(5).shape == (5, 1, 2, 2) and pool.sample(20).shape == (20, 1, 2, 2)
    ring = ImagePool(capacity=6)
    for i in range(3):
        ring.add(torch.full((4, 1, 2, 2), float(i)))
    assert len(ring) == 6 and sorted(ring.images[:, 0, 0, 0].tolist()) == [1, 1, 2, 2, 2, 2]
    ring.save(tmp_path / "pool.pt")
    back = ImagePool.load(tmp_path / "pool.pt")
    assert torch.equal(back.images, ring.images) and back.capacity == 6
    with pytest.raises(UserError, match="empty"):
        ImagePool().sample(2)
    with pytest.raises(UserError, match="holds"):
        pool.add(torch.zeros(1, 3, 2, 2))


def test_deepinversion_round_lowers_its_loss_keeps_pixels_valid_and_fills_the_pool():
    teacher, student = bn_teacher(), build_model("lenet5-half", 1, 10)
    synth = InversionSynthesizer(teacher, student, PixelSource((1, 32, 32), 0.1, PIXELS),
                                 InversionWeights(bn=1.0, one_hot=1.0, tv_l2=1e-4), num_classes=10, batch_size=16,
                                 steps=15, betas=(0.5, 0.9), bn_first_multiplier=10.0)
    torch.manual_seed(1)
    first = synth.synthesize()
    torch.manual_seed(1)
    again = InversionSynthesizer(teacher, student, PixelSource((1, 32, 32), 0.1, PIXELS),
                                 InversionWeights(bn=1.0, one_hot=1.0, tv_l2=1e-4), num_classes=10, batch_size=16,
                                 steps=0 + 1, betas=(0.5, 0.9), bn_first_multiplier=10.0).synthesize()
    assert first.losses["total"] < again.losses["total"]  # 15 steps beat 1 from the same noise
    images = synth.pool.images
    assert len(synth.pool) == 16 and images.min() >= PIXELS[0] - 1e-6 and images.max() <= PIXELS[1] + 1e-6
    assert synth.sample().shape == (16, 1, 32, 32)


def test_cmi_round_uses_the_bank_and_fastdfkd_moves_its_meta_generator_and_bn_averages():
    teacher, student = bn_teacher(), build_model("lenet5-half", 1, 10)
    bank = ContrastiveBank(feature_dim(teacher), head_dim=8, bank_size=64, negatives=16)
    cmi = InversionSynthesizer(teacher, student, FreshGeneratorSource(Generator(nz=8, ngf=8, output="sigmoid"),
                                                                      1e-3, 1e-3),
                               InversionWeights(bn=1, one_hot=0.5, adversarial=0.5, contrastive=0.8),
                               num_classes=10, batch_size=8, steps=3, contrastive=bank)
    first = cmi.synthesize()
    cmi.synthesize()
    assert feature_dim(teacher) == 6 + 16 + 120 and len(bank.bank) == 16 and "contrastive" in first.losses
    meta = Generator(nz=8, ngf=8, output="sigmoid")
    before = [p.detach().clone() for p in meta.parameters()]
    fast = InversionSynthesizer(teacher, student, MetaGeneratorSource(meta, 3e-3, 1e-2, inner_steps=2),
                                InversionWeights(bn=10, one_hot=0.4, adversarial=1.1), num_classes=10,
                                batch_size=8, steps=2, bn_momentum=0.9, adversarial_after=1)
    report = fast.synthesize()
    assert "adversarial" not in report.losses  # off during warm-up (epoch 0 < 1)
    fast.start_epoch(1)
    assert "adversarial" in fast.synthesize().losses
    assert fast.bn_stats.averages is not None and len(fast.pool) == 16
    assert any(not torch.equal(a, b) for a, b in zip(before, meta.parameters(), strict=True))


def test_inversion_loop_resumes_to_the_same_student(tmp_path):
    from graphdistill.core.checkpoint import Checkpoint

    class Stop(Exception):
        pass

    def run(name, interrupt=None):
        teacher, student = bn_teacher(), build_model("lenet5-half", 1, 10)
        torch.manual_seed(3)
        meta = Generator(nz=8, ngf=8, output="sigmoid")
        synth = InversionSynthesizer(teacher, student, MetaGeneratorSource(meta, 3e-3, 1e-2, inner_steps=2),
                                     InversionWeights(bn=10, one_hot=0.4, adversarial=1.1), num_classes=10,
                                     batch_size=8, steps=2, bn_momentum=0.9)

        def stop(epoch, *_):
            if interrupt is not None and epoch + 1 == interrupt:
                raise Stop

        loop = DataFreeKD(teacher, student, synth, KDLoopConfig(epochs=3, iterations=1, kd_steps=2), on_epoch_end=stop)
        try:
            loop.run(Checkpoint(tmp_path / name))
        except Stop:
            return None
        return student

    a = run("a.pt")
    assert run("b.pt", interrupt=2) is None
    b = run("b.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_inversion_presets_build_and_refuse_bad_settings():
    fast5 = DFKD_METHODS.get("fastdfkd-5")
    assert fast5.steps == 5 and fast5.bn_momentum == 0.9 and fast5.meta_rule == "fomaml"
    assert DFKD_METHODS.get("deepinversion").bn_first_multiplier == 10.0
    with pytest.raises(UserError, match="source"):
        fast5.with_overrides({"source": "magic"})
    with pytest.raises(UserError, match="meta rule"):
        MetaGeneratorSource(Generator(nz=8, ngf=8), 1e-3, 1e-3, 2, rule="maml2")
    with pytest.raises(UserError, match="≥ 0"):
        InversionWeights(bn=-1)


def test_fastdfkd_short_real_run_beats_a_floor(mnist_bn_teacher, tmp_path, data_root):
    """Four epochs of FastDFKD-5 (one batch of 128 each, 60 student steps) on a real MNIST teacher."""
    from vision.run import dfkd_run

    teacher, teacher_accuracy = mnist_bn_teacher
    assert teacher_accuracy >= 0.97
    hyper = {"epochs": 4, "warmup_epochs": 1, "batch_size": 128, "kd_steps": 60, "ngf": 16}
    metrics = dfkd_run(teacher, "lenet5-half", "fastdfkd-5", seed=0, out=tmp_path / "run", hyper=hyper,
                       data_root=data_root, device="cpu", progress=False, save_pool=True)
    assert metrics["protocol"]["pool_images"] == 4 * 128 and metrics["protocol"]["inner_steps"] == 5
    assert ImagePool.load(tmp_path / "run" / "pool.pt").images.shape == (4 * 128, 1, 32, 32)
    assert metrics["final_accuracy"] >= FLOOR_FASTDFKD_SHORT
    assert metrics["synthesis_total_seconds"] > 0 and metrics["kd_total_seconds"] > 0
