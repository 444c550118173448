"""Image dataset distillation: ConvNet, DSA, the shared matching core, DM / DC / MTT / TESLA, runs."""

import json

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

import graphdistill.core.distribution as core_distribution
import graphdistill.core.matching as core_matching
import graphdistill.core.unroll as core_unroll
from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.errors import UserError
from graphdistill.core.unroll import detached_parameters, unrolled_sgd, unrolled_sgd_gradients
from tests.cli_helpers import run_cli
from vision.augment import DSA
from vision.convnet import (
    NNPACK_MIN_BATCH,
    AvgPool2x2,
    Conv2d,
    _WinogradConvolution,
    fast_inference,
    real_forward,
    resolve_precision,
    winograd_forward,
)
from vision.data import ImageSet, load_images
from vision.dd import dc as dd_dc
from vision.dd import dm as dd_dm
from vision.dd.dm import DM, DMConfig, RandomEmbeddings
from vision.dd.evaluate import EvalProtocol, train_on_set
from vision.dd.mtt import MTT, ExpertConfig, MTTConfig, train_experts
from vision.dd.synthetic import ClassSampler, SyntheticImages
from vision.models import build_model


@pytest.fixture(scope="module")
def mnist28(data_root):
    return load_images("mnist", "train", root=data_root), load_images("mnist", "test", root=data_root)


def _subset(data: ImageSet, n: int) -> ImageSet:
    return ImageSet(data.name, data.images[:n], data.labels[:n], data.num_classes, data.mean, data.std)


# --- ConvNet -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32), (1, 32)])
def test_convnet3_has_2048_features_for_28_and_32_pixel_inputs(channels, size):
    net = build_model("convnet", in_channels=channels, num_classes=10, image_size=size)
    x = torch.randn(4, channels, size, size)
    assert net.embed(x).shape == (4, 2048)
    assert net(x).shape == (4, 10)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) == 3 and all(m.num_groups == m.num_channels == 128 for m in norms)  # "instancenorm"


def test_convnet_variants_and_bad_settings():
    x = torch.randn(2, 1, 28, 28)
    assert build_model("convnet", 1, 10, image_size=28, width=32, depth=2).embed(x).shape == (2, 32 * 8 * 8)
    assert build_model("convnet-bn", 1, 10, image_size=28).embed(x).shape == (2, 2048)
    assert build_model("convnet", 1, 10, image_size=28, pooling="max", norm="none").embed(x).shape == (2, 2048)
    for name in ("mlp", "alexnet", "resnet18-in", "resnet18"):  # the cross-architecture pool
        assert build_model(name, 1, 10, image_size=28)(x).shape == (2, 10)
    with pytest.raises(UserError, match="norm"):
        build_model("convnet", 1, 10, image_size=28, norm="weird")
    with pytest.raises(UserError, match="nothing"):
        build_model("convnet", 1, 10, image_size=28, depth=7)


# --- DSA -----------------------------------------------------------------------------------------


def test_dsa_gives_paired_batches_the_same_transformation_per_class():
    dsa = DSA("color_crop_cutout_flip_scale_rotate")
    real, syn = torch.randn(6, 3, 16, 16), torch.randn(3, 3, 16, 16)
    real[1], real[4] = syn[0], syn[2]  # the same picture in both batches, classes 0 and 2
    real_labels, syn_labels = torch.tensor([1, 0, 1, 2, 2, 0]), torch.tensor([0, 1, 2])
    for seed in range(20):  # every operation gets drawn at some seed
        draw = dsa.draw(3, torch.Generator().manual_seed(seed))
        a, b = dsa.apply(real, draw, real_labels), dsa.apply(syn, draw, syn_labels)
        torch.testing.assert_close(a[1], b[0])
        torch.testing.assert_close(a[4], b[2])
        again = dsa.apply(real, dsa.draw(3, torch.Generator().manual_seed(seed)), real_labels)
        torch.testing.assert_close(a, again)  # determinism under a seed


@pytest.mark.parametrize("seed", range(6))
def test_dsa_paired_mode_is_differentiable_in_the_synthetic_images(seed):
    """The mode DC, DSA and DM train through: per-class draws applied to the synthetic batch."""
    dsa = DSA("color_crop_cutout_scale_rotate")
    draw = dsa.draw(2, torch.Generator().manual_seed(seed))
    labels = torch.tensor([0, 1, 1])
    small = torch.rand(3, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda images: dsa.apply(images, draw, labels), (small,), eps=1e-6, atol=1e-5)


def test_dsa_independent_mode_differs_per_image_and_is_differentiable():
    dsa = DSA("color_crop_cutout_scale_rotate", single=False)
    x = torch.rand(8, 1, 12, 12, dtype=torch.float64, requires_grad=True)
    same = x.detach()[:1].repeat(8, 1, 1, 1)
    out = dsa(same, torch.Generator().manual_seed(0))
    assert not torch.allclose(out[0], out[1])
    y = dsa(x, torch.Generator().manual_seed(1))
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0

    def f(images):
        return dsa(images, torch.Generator().manual_seed(2))

    small = torch.rand(2, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (small,), eps=1e-6, atol=1e-5)


def test_dsa_crop_is_an_exact_integer_shift_with_zero_fill_and_flip_is_exact():
    dsa = DSA("crop")
    x = torch.arange(64, dtype=torch.float32).view(1, 1, 8, 8) + 1
    draw = dsa.draw(1, torch.Generator().manual_seed(0))
    draw.uniforms[:, 3], draw.uniforms[:, 4] = 0.0, 0.99  # dy = −1, dx = +1 (max shift 1 for 8 px)
    out = dsa.apply(x, draw, torch.zeros(1, dtype=torch.long))
    expected = torch.zeros_like(x)
    expected[..., :7, 1:] = x[..., 1:, :7]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-4)  # bilinear at integer offsets: to rounding
    flip = DSA("flip")
    draw = flip.draw(1, torch.Generator().manual_seed(0))
    draw.uniforms[:, 7] = 0.1
    torch.testing.assert_close(flip.apply(x, draw, torch.zeros(1, dtype=torch.long)), x.flip(3))


def test_dsa_shared_operation_mode_and_bad_protocol_settings():
    """``op_per_call`` (how the reference augments a training batch): one operation for the whole
    batch, parameters still per image."""
    batch_op = DSA("color_crop_cutout_scale_rotate", op_per_call=True)
    picture = torch.rand(1, 1, 12, 12).repeat(6, 1, 1, 1)
    ops, differ = set(), False
    for seed in range(8):
        draw = batch_op.draw(6, torch.Generator().manual_seed(seed), shared_op=True)
        assert (draw.active == draw.active[0]).all()
        ops.add(int(draw.active[0].float().argmax()))
        out = batch_op(picture, torch.Generator().manual_seed(seed))
        differ |= not torch.allclose(out[0], out[1])
    assert len(ops) > 1 and differ
    with pytest.raises(UserError, match="dsa_op"):
        EvalProtocol(dsa_op="epoch")


def test_winograd_forward_gives_the_same_training_gradients():
    torch.manual_seed(0)
    net = build_model("convnet", 1, 10, image_size=28, width=16)
    x, y = torch.randn(16, 1, 28, 28), torch.arange(16) % 10

    def grads(forward_context):
        with forward_context:
            loss = F.cross_entropy(net(x), y)
        return torch.autograd.grad(loss, list(net.parameters()))

    reference = grads(torch.backends.mkldnn.flags(enabled=True))
    for got, want in zip(grads(winograd_forward(len(x))), reference, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-4)
    with winograd_forward(NNPACK_MIN_BATCH - 1):  # too small a batch for NNPACK: oneDNN stays on
        assert torch.backends.mkldnn.enabled


def test_winograd_convolution_gradients_match_autograd_to_second_order():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_WinogradConvolution.apply, (x, w, b))
    assert torch.autograd.gradgradcheck(_WinogradConvolution.apply, (x, w, b))  # DC's synthetic side, MTT
    assert torch.autograd.gradcheck(lambda x, w: _WinogradConvolution.apply(x, w, None), (x, w))


def test_conv2d_trains_like_nn_conv2d_and_falls_back_where_winograd_does_not_apply():
    torch.manual_seed(0)
    ours = Conv2d(8, 16, 3, padding=1)
    plain = torch.nn.Conv2d(8, 16, 3, padding=1)
    plain.load_state_dict(ours.state_dict())  # same parameters, same state dict
    x = torch.randn(NNPACK_MIN_BATCH, 8, 12, 12, requires_grad=True)
    assert ours._winograd_applies(x) == torch.backends.nnpack.is_available()
    got = torch.autograd.grad(ours(x).square().sum(), [x, ours.weight, ours.bias])
    want = torch.autograd.grad(plain(x).square().sum(), [x, plain.weight, plain.bias])
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-3, atol=1e-3)
    assert not ours._winograd_applies(x[:NNPACK_MIN_BATCH - 1])  # NNPACK's minimum batch
    assert not Conv2d(8, 16, 3, padding=3)._winograd_applies(x)  # not a "same" convolution
    assert not Conv2d(8, 16, 3, padding=1, stride=2)._winograd_applies(x)
    with torch.no_grad():
        assert not ours._winograd_applies(x)


def test_bfloat16_real_side_gives_float32_gradients_close_to_float32_ones():
    torch.manual_seed(0)
    net = build_model("convnet", 1, 10, image_size=28, width=16)
    x, y = torch.randn(32, 1, 28, 28), torch.arange(32) % 10

    def grads(precision: str) -> list[torch.Tensor]:
        with real_forward(len(x), precision):
            assert torch.is_autocast_enabled("cpu") == (precision == "bfloat16")
            assert not net.features[0]._winograd_applies(x) or precision == "float32"
            loss = F.cross_entropy(net(x), y)
        return torch.autograd.grad(loss, [net.features[4].weight, net.classifier.weight])

    for got, want in zip(grads("bfloat16"), grads("float32"), strict=True):
        assert got.dtype == torch.float32  # the parameters' dtype, whatever the arithmetic
        assert F.cosine_similarity(got.flatten(), want.flatten(), dim=0) > 0.98
    with fast_inference("bfloat16"):
        features = net.embed(x)
    assert features.dtype == torch.bfloat16 and not features.requires_grad
    torch.testing.assert_close(features.float(), net.embed(x).detach(), rtol=0.05, atol=0.05)


def test_precision_names_resolve_and_bad_ones_are_rejected(mnist28):
    assert resolve_precision("float32") == "float32" and resolve_precision("bfloat16", "cpu") == "bfloat16"
    assert resolve_precision("auto", "cuda") == "float32"  # not measured on GPUs: float32 there
    assert resolve_precision("auto", "cpu") in ("float32", "bfloat16")
    with pytest.raises(UserError, match="precision"):
        resolve_precision("float16")
    with pytest.raises(UserError, match="precision"):
        DMConfig(real_precision="half")


def test_dm_step_in_bfloat16_moves_the_images_as_in_float32(mnist28):
    train = _subset(mnist28[0], 2000)
    steps = {}
    for precision in ("float32", "bfloat16"):
        distiller = DM(DMConfig(ipc=1, iterations=1, batch_real=32, seed=0, real_precision=precision), train)
        syn, _ = distiller.fit(log=lambda m: None)
        assert syn.meta["real_precision"] == precision
        steps[precision] = (syn.images - distiller.initialise().images).detach().flatten()
    assert F.cosine_similarity(steps["bfloat16"], steps["float32"], dim=0) > 0.95


def test_fast_average_pooling_equals_avg_pool2d_with_its_gradients():
    pool = AvgPool2x2()
    x = torch.randn(2, 3, 6, 8, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(pool(x), F.avg_pool2d(x, 2))
    assert torch.autograd.gradcheck(pool, (x,)) and torch.autograd.gradgradcheck(pool, (x,))  # MTT unrolls through it
    stacked = torch.randn(4, 2, 3, 6, 8)
    torch.testing.assert_close(torch.func.vmap(pool)(stacked), torch.stack([F.avg_pool2d(t, 2) for t in stacked]))
    odd = torch.randn(2, 3, 7, 5)
    torch.testing.assert_close(pool(odd), F.avg_pool2d(odd, 2))  # odd sizes: ATen's pooling


def test_dsa_rejects_unknown_operations():
    with pytest.raises(UserError, match="unknown DSA operation"):
        DSA("color_zoom")


# --- the shared core --------------------------------------------------------------------------------


def test_image_methods_run_on_the_very_core_functions_the_graph_methods_use():
    from graphdistill.graph import gcdm, gcond

    assert dd_dm.mean_embedding_distance is core_distribution.mean_embedding_distance
    assert dd_dm.real_class_means is core_distribution.real_class_means
    assert dd_dc.match_epoch is core_matching.match_epoch is gcond.match_epoch
    assert dd_dc.DISTANCES is core_matching.DISTANCES is gcond.DISTANCES
    assert gcdm.mean_embedding_distance is dd_dm.mean_embedding_distance
    assert core_unroll.unrolled_sgd_gradients is unrolled_sgd_gradients


def test_separate_class_gradients_equal_the_batched_ones():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3)).double()
    x, y = torch.randn(9, 1, 6, 6, dtype=torch.float64), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    params = list(net.parameters())
    losses = torch.stack([F.cross_entropy(net(x[y == c]), y[y == c]) for c in range(3)])
    batched = core_matching.class_gradients(losses, params)
    separate = core_matching.separate_class_gradients(lambda c: F.cross_entropy(net(x[y == c]), y[y == c]),
                                                      range(3), params)
    for a, b in zip(batched, separate, strict=True):
        torch.testing.assert_close(a, b)


class _SavedBytes:
    """Live bytes autograd keeps for backward (and their peak), via saved-tensor hooks."""

    def __init__(self) -> None:
        self.live = self.peak = 0

    def __enter__(self):
        meter = self

        class Held:
            def __init__(self, t):
                self.t, self.n = t, t.numel() * t.element_size()
                meter.live += self.n
                meter.peak = max(meter.peak, meter.live)

            def __del__(self):
                meter.live -= self.n

        self._hooks = torch.autograd.graph.saved_tensors_hooks(Held, lambda held: held.t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)


def _unroll_problem(steps: int):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    x = torch.randn(32, 5, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 3, (32,))
    lr = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    target = {k: torch.randn_like(v) for k, v in net.named_parameters()}

    def step(p, t):
        idx = torch.arange(t % 4, 32, 4)
        return F.cross_entropy(functional_call(net, p, (x[idx],)), y[idx])

    def outer(p):
        return sum(((p[k] - target[k]) ** 2).sum() for k in p)

    return net, x, lr, step, outer, lr.expand(steps)


def test_constant_memory_unroll_gives_the_unrolled_gradient_with_memory_flat_in_steps():
    peaks = {}
    for steps in (2, 8):
        net, x, lr, step, outer, lrs = _unroll_problem(steps)
        with _SavedBytes() as plain:
            loss = outer(unrolled_sgd(step, detached_parameters(net), lrs))
            expected = torch.autograd.grad(loss, [x, lr])
        with _SavedBytes() as tesla:
            value, got = unrolled_sgd_gradients(step, detached_parameters(net), lrs, outer, [x, lr])
        torch.testing.assert_close(value, loss.detach())
        for a, b in zip(expected, got, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        peaks[steps] = (plain.peak, tesla.peak)
    assert peaks[8][0] > 3 * peaks[2][0]  # plain unrolling holds every step's graph
    assert peaks[8][1] <= 1.1 * peaks[2][1]  # one step's graph at a time


# --- methods ---------------------------------------------------------------------------------------


def test_class_sampler_draws_distinct_images_of_every_class(mnist28):
    sampler = ClassSampler(_subset(mnist28[0], 3000))
    x, y = sampler.sample(7, torch.Generator().manual_seed(0))
    assert x.shape == (70, 1, 28, 28)
    assert torch.equal(y, torch.arange(10).repeat_interleave(7))
    flat = x.flatten(1)
    assert len(torch.unique(flat, dim=0)) == 70


def test_dm_lowers_its_objective_on_fresh_networks_and_resumes_to_the_same_images(mnist28, tmp_path):
    train = _subset(mnist28[0], 4000)
    config = DMConfig(ipc=1, iterations=10, batch_real=16, checkpoint_every=5, seed=3)

    def held_out_objective(images: torch.Tensor) -> float:
        torch.manual_seed(123)
        nets = [build_model("convnet", 1, 10, image_size=28, width=32) for _ in range(4)]
        embed = RandomEmbeddings(nets)
        with torch.no_grad():
            real = core_distribution.real_class_means(embed(train.images[:1000]), train.labels[:1000], 10)
            return float(core_distribution.mean_embedding_distance(real, embed(images), torch.arange(10)).sum())

    straight, history = DM(config, train).fit(log=lambda m: None)
    before = held_out_objective(DM(config, train).initialise().images.detach())
    after = held_out_objective(straight.images.detach())
    assert after < 0.8 * before
    assert len(history.losses) == 10
    # killed right after the first checkpoint (iteration 5), then run again: the same images
    checkpoint = Checkpoint(tmp_path / "ck.pt")
    with pytest.raises(_Interrupt):
        DM(config, train).fit(_StopAfter(checkpoint, 1), log=lambda m: None)
    assert checkpoint.exists()
    resumed, _ = DM(config, train).fit(checkpoint, log=lambda m: None)
    torch.testing.assert_close(resumed.images.detach(), straight.images.detach())


class _Interrupt(Exception):
    pass


class _StopAfter(Checkpoint):
    """A checkpoint that raises after its ``n``-th save (a run killed right after checkpointing)."""

    def __init__(self, checkpoint: Checkpoint, n: int) -> None:
        super().__init__(checkpoint.path)
        self.left = n

    def save(self, state) -> None:
        super().save(state)
        self.left -= 1
        if self.left == 0:
            raise _Interrupt


def test_herding_initialisation_picks_the_real_images_nearest_the_random_networks_class_means(mnist28, tmp_path):
    train = _subset(mnist28[0], 2000)
    config = DMConfig(ipc=1, iterations=2, init="herding", init_networks=2, batch_real=8, real_precision="float32",
                      checkpoint_every=1, seed=5)
    distiller = DM(config, train)
    syn = distiller.initialise()
    embed = distiller.random_embedding()  # the same networks (their own seed)
    assert torch.equal(syn.labels, torch.arange(10))
    for c in range(10):
        members = train.images[train.labels == c]
        features = embed(members)
        assert features.shape == (len(members), 2 * 2048)
        nearest = int((features - features.mean(0)).norm(dim=1).argmin())  # herding with k = 1
        torch.testing.assert_close(syn.images[c].detach(), members[nearest], rtol=0, atol=0)
    # independent of the global stream, and the global stream is left as it was
    torch.manual_seed(0)
    first = torch.rand(3)
    torch.manual_seed(0)
    again = DM(config, train).initialise()
    torch.testing.assert_close(torch.rand(3), first)
    torch.testing.assert_close(again.images, syn.images)
    straight, _ = DM(config, train).fit(log=lambda m: None)
    assert straight.meta["init_seconds"] > 0
    checkpoint = Checkpoint(tmp_path / "ck.pt")  # the init time survives an interruption
    with pytest.raises(_Interrupt):
        DM(config, train).fit(_StopAfter(checkpoint, 1), log=lambda m: None)
    resumed, _ = DM(config, train).fit(checkpoint, log=lambda m: None)
    assert resumed.meta["init_seconds"] > 0
    torch.testing.assert_close(resumed.images.detach(), straight.images.detach())
    with pytest.raises(UserError, match="init must be one of"):
        DMConfig(init="kmeans")
    with pytest.raises(UserError, match="init_networks"):
        DMConfig(init="herding", init_networks=0)


def test_dm_with_several_networks_at_once_matches_their_average(mnist28):
    torch.manual_seed(0)
    nets = [build_model("convnet", 1, 10, image_size=28, width=16) for _ in range(3)]
    x = mnist28[0].images[:20]
    batched = RandomEmbeddings(nets)(x)
    for k, net in enumerate(nets):
        torch.testing.assert_close(batched[k], net.embed(x), rtol=1e-4, atol=1e-5)


def test_dsa_one_iteration_updates_images_through_the_core(mnist28):
    train = _subset(mnist28[0], 3000)
    distiller = dd_dc.DC(dd_dc.DCConfig(ipc=1, iterations=1, batch_real=8, model="convnet", seed=0), train)
    assert distiller.name == "dsa" and distiller.config.outer == 1 and distiller.config.inner == 1
    syn, history = distiller.fit(log=lambda m: None)
    init = dd_dc.DC(dd_dc.DCConfig(ipc=1, iterations=1, batch_real=8, seed=0), train).initialise()
    assert history.losses[0] > 0
    assert not torch.allclose(syn.images.detach(), init.images.detach())
    with pytest.raises(UserError, match="loop settings"):
        dd_dc.DCConfig(ipc=7)


def test_mtt_and_tesla_take_the_same_step(mnist28, tmp_path):
    train = _subset(mnist28[0], 2000)
    buffer = tmp_path / "experts.pt"
    train_experts(train, ExpertConfig(experts=1, epochs=3, images_per_epoch=256, model="mlp"), buffer,
                  log=lambda m: None)
    results = []
    for constant_memory in (False, True):
        cfg = MTTConfig(ipc=2, iterations=1, syn_steps=4, expert_epochs=1, max_start_epoch=2, model="mlp",
                        buffer=str(buffer), constant_memory=constant_memory, seed=0)
        results.append(MTT(cfg, train).fit(log=lambda m: None))
    (plain, plain_history), (tesla, tesla_history) = results
    assert plain_history.losses == pytest.approx(tesla_history.losses, rel=1e-5)
    torch.testing.assert_close(tesla.images.detach(), plain.images.detach(), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(tesla.lr.detach(), plain.lr.detach())
    assert plain.meta["real_precision"] == "float32"  # MTT has no bfloat16 real side, whatever the CPU
    with pytest.raises(UserError, match="no bfloat16 real side"):
        MTT(MTTConfig(ipc=1, buffer=str(buffer), model="mlp", real_precision="bfloat16"), train)
    with pytest.raises(UserError, match="exceeds"):
        MTT(MTTConfig(ipc=1, buffer=str(buffer), model="mlp", max_start_epoch=3, expert_epochs=1), train)


def test_evaluation_is_deterministic_under_a_seed(mnist28):
    train, test = _subset(mnist28[0], 30), _subset(mnist28[1], 300)
    protocol = EvalProtocol(epochs=3, runs=1, batch=16)
    a = train_on_set(train, test, protocol, seed=5)
    b = train_on_set(train, test, protocol, seed=5)
    assert a.test == b.test and a.curves == b.curves


def test_sampling_and_augmentation_streams_do_not_replay_the_network_initialisation(mnist28):
    """The distiller's sampling/augmentation generator and the global one (network weights) are
    seeded apart: seeded alike, the first augmentation draws were affine copies of conv1's weights."""
    distiller = DM(DMConfig(ipc=1, iterations=1, seed=3), _subset(mnist28[0], 300))
    torch.manual_seed(3)
    weights = torch.rand(64)
    assert not torch.equal(torch.rand(64, generator=distiller.generator), weights)


def test_synthetic_set_round_trip(tmp_path, mnist28):
    sampler = ClassSampler(_subset(mnist28[0], 1000))
    syn = SyntheticImages.initialise(sampler, mnist28[0], 2, "real", torch.Generator().manual_seed(0))
    syn.lr = torch.tensor(0.02)
    syn.save(tmp_path / "s.pt")
    back = SyntheticImages.load(tmp_path / "s.pt")
    torch.testing.assert_close(back.images.detach(), syn.images.detach())
    assert torch.equal(back.labels, syn.labels) and back.mean == syn.mean and float(back.lr) == pytest.approx(0.02)


# --- command line ----------------------------------------------------------------------------------


def test_cli_rejects_bad_image_requests_before_writing(tmp_path, capsys, data_root):
    out = tmp_path / "run"
    for args, message in ((["--method", "dmx", "--ipc", "1"], "unknown image distillation method"),
                          (["--method", "dm", "--ipc", "100000"], "smallest class"),
                          (["--method", "dm", "--budget", "3"], "--ipc N")):
        code, _, err = run_cli(["condense", "mnist", *args, "--out", str(out), "--data-root", str(data_root)], capsys)
        assert code == 2 and message in err
        assert not out.exists()


def test_cli_runs_a_tiny_dm_distillation(tmp_path, capsys, data_root):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(["condense", "mnist", "--method", "dm", "--ipc", "1", "--hp", "iterations=2",
                               "--hp", "batch_real=8", "--epochs", "2", "--runs", "1", "--device", "cpu",
                               "--out", str(out), "--data-root", str(data_root)], capsys)
    assert code == 0 and "| convnet |" in stdout
    for name in ("synthetic.pt", "metrics.json", "synthetic.png", "curves.png", "config.json"):
        assert (out / name).is_file()
    assert not (out / "checkpoint.pt").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["real_precision"] == resolve_precision("auto", "cpu")  # the precision used, not "auto"


def test_cli_trains_experts_then_runs_mtt_from_the_buffer(tmp_path, capsys, data_root):
    buffer, out = tmp_path / "experts.pt", tmp_path / "mtt"
    code, stdout, _ = run_cli(["experts", "mnist", "--out", str(buffer), "--experts", "1", "--epochs", "2",
                               "--images-per-epoch", "256", "--device", "cpu", "--data-root", str(data_root)], capsys)
    assert code == 0 and "(1, 3, " in stdout and buffer.is_file()
    code, stdout, _ = run_cli(["condense", "mnist", "--method", "mtt", "--ipc", "1", "--hp", f"buffer={buffer}",
                               "--hp", "iterations=1", "--hp", "syn_steps=2", "--hp", "expert_epochs=1",
                               "--hp", "max_start_epoch=1", "--epochs", "2", "--runs", "1", "--device", "cpu",
                               "--out", str(out), "--data-root", str(data_root)], capsys)
    assert code == 0 and (out / "synthetic.pt").is_file()
    code, _, err = run_cli(["condense", "mnist", "--method", "mtt", "--ipc", "1", "--out", str(tmp_path / "x"),
                            "--data-root", str(data_root)], capsys)
    assert code == 2 and "graphdistill experts" in err


def test_zca_decorrelates_pixels_and_inverts():
    from vision.zca import ZCA

    torch.manual_seed(0)
    mixing = torch.randn(12, 12, dtype=torch.float64)
    images = (torch.randn(4000, 12, dtype=torch.float64) @ mixing).view(4000, 3, 2, 2)
    zca = ZCA.fit(images, eps=1e-6)
    white = zca(images).flatten(1)
    covariance = white.T @ white / (len(white) - 1)
    torch.testing.assert_close(covariance, torch.eye(12, dtype=torch.float64), atol=1e-3, rtol=0)
    torch.testing.assert_close(zca.whiten, zca.whiten.T)  # symmetric: the "zero-phase" whitening
    torch.testing.assert_close(zca.invert(zca(images)), images, atol=1e-8, rtol=1e-8)
    back = ZCA.from_state(zca.state())
    torch.testing.assert_close(back(images), zca(images))
    with pytest.raises(UserError, match="do not fit"):
        zca(torch.randn(2, 1, 2, 2, dtype=torch.float64))
