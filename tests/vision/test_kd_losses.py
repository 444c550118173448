"""Golden values for every KD loss: each is compared with an independent float64 NumPy formulation
on fixed small tensors (written from the papers' definitions, not from our code)."""

import numpy as np
import pytest
import torch

from graphdistill.core.errors import UserError
from vision.kd import KD_LOSSES, FeatureHooks
from vision.kd.attention import attention_transfer
from vision.kd.crd import CRDLoss
from vision.kd.fitnets import HintLoss
from vision.kd.logits import hinton_kd, l1_discrepancy
from vision.kd.objective import LOGIT_LOSSES, KDObjective
from vision.kd.pkt import probabilistic_transfer
from vision.kd.rco import RouteSchedule
from vision.kd.relational import relational_kd, rkd_angle, rkd_distance
from vision.kd.similarity import similarity_preserving
from vision.models import build_model, stage_layers
from vision.train import TrainConfig, distill_on_data

RNG = np.random.default_rng(0)
S_LOGITS = RNG.normal(size=(4, 5))
T_LOGITS = RNG.normal(size=(4, 5)) * 2
S_FEAT = RNG.normal(size=(6, 3, 4, 4))
T_FEAT = RNG.normal(size=(6, 5, 2, 2))


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def softmax(x):
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_registry_lists_every_loss():
    assert set(KD_LOSSES.names()) >= {"kd", "l1", "fitnets", "at", "sp", "rkd", "pkt", "crd"}


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_hinton_kd_golden(temperature):
    p_t, p_s = softmax(T_LOGITS / temperature), softmax(S_LOGITS / temperature)
    expected = temperature**2 * (p_t * (np.log(p_t) - np.log(p_s))).sum(1).mean()
    got = hinton_kd(t(S_LOGITS), t(T_LOGITS), temperature)
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_hinton_kd_is_zero_for_identical_logits_and_mixes_labels():
    logits = t(S_LOGITS)
    assert hinton_kd(logits, logits.clone(), 3.0).item() == pytest.approx(0.0, abs=1e-12)
    labels = torch.tensor([0, 1, 2, 3])
    ce = torch.nn.functional.cross_entropy(logits, labels).item()
    mixed = hinton_kd(logits, t(T_LOGITS), 2.0, labels=labels, alpha=0.25).item()
    assert mixed == pytest.approx(0.25 * ce + 0.75 * hinton_kd(logits, t(T_LOGITS), 2.0).item())


def test_hinton_kd_gradient_matches_finite_differences():
    s = t(S_LOGITS).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: hinton_kd(x, t(T_LOGITS), 2.0), (s,))


def test_l1_discrepancy_golden():
    assert l1_discrepancy(t(S_LOGITS), t(T_LOGITS)).item() == pytest.approx(np.abs(S_LOGITS - T_LOGITS).mean())


def attention_np(f, mode):
    a = (f**2).mean(1) if mode == "code" else (f**2).sum(1)
    a = a.reshape(len(f), -1)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def avg_pool_np(f, size):
    b, c, h, w = f.shape
    return f.reshape(b, c, size, h // size, size, w // size).mean((3, 5))


@pytest.mark.parametrize("mode", ["code", "paper"])
def test_attention_transfer_golden(mode):
    s = avg_pool_np(S_FEAT, 2)  # the student's 4×4 map is pooled to the teacher's 2×2
    diff = attention_np(s, mode) - attention_np(T_FEAT, mode)
    expected = (diff**2).mean() if mode == "code" else np.linalg.norm(diff, axis=1).mean()
    assert attention_transfer(t(S_FEAT), t(T_FEAT), mode=mode).item() == pytest.approx(expected, rel=1e-10)


def test_similarity_preserving_golden():
    fs, ft = S_FEAT.reshape(6, -1), T_FEAT.reshape(6, -1)
    gs, gt = fs @ fs.T, ft @ ft.T
    gs, gt = gs / np.linalg.norm(gs, axis=1, keepdims=True), gt / np.linalg.norm(gt, axis=1, keepdims=True)
    expected = ((gt - gs) ** 2).sum() / 36
    assert similarity_preserving(t(S_FEAT), t(T_FEAT)).item() == pytest.approx(expected, rel=1e-10)


def smooth_l1_np(a, b):
    d = np.abs(a - b)
    return np.where(d < 1, 0.5 * d**2, d - 0.5).mean()


def test_rkd_distance_and_angle_golden():
    s, te = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 4))

    def dist(x):
        d = np.array([[np.linalg.norm(x[i] - x[j]) for j in range(len(x))] for i in range(len(x))])
        return d / d[d > 0].mean()

    def angles(x):
        n = len(x)
        out = np.zeros((n, n, n))
        for i in range(n):
            for j in range(n):
                for k in range(n):
                    u, v = x[j] - x[i], x[k] - x[i]
                    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
                    out[i, j, k] = 0 if nu == 0 or nv == 0 else u @ v / (nu * nv)
        return out.ravel()

    assert rkd_distance(t(s), t(te)).item() == pytest.approx(smooth_l1_np(dist(s), dist(te)), rel=1e-6)
    assert rkd_angle(t(s), t(te)).item() == pytest.approx(smooth_l1_np(angles(s), angles(te)), rel=1e-6)
    combined = relational_kd(t(s), t(te), distance_weight=2.0, angle_weight=3.0).item()
    assert combined == pytest.approx(2 * smooth_l1_np(dist(s), dist(te)) + 3 * smooth_l1_np(angles(s), angles(te)),
                                     rel=1e-6)


def test_pkt_golden_and_zero_for_identical_features():
    fs, ft = S_FEAT.reshape(6, -1), T_FEAT.reshape(6, -1)

    def probabilities(f):
        u = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-7)
        k = (u @ u.T + 1) / 2
        return k / k.sum(1, keepdims=True)

    ps, pt = probabilities(fs), probabilities(ft)
    expected = (pt * np.log((pt + 1e-7) / (ps + 1e-7))).mean()
    assert probabilistic_transfer(t(S_FEAT), t(T_FEAT)).item() == pytest.approx(expected, rel=1e-8)
    assert probabilistic_transfer(t(S_FEAT), t(S_FEAT)).item() == pytest.approx(0.0, abs=1e-12)


def test_fitnets_hint_regresses_to_teacher_shape():
    hint = HintLoss((3, 4, 4), (5, 2, 2)).double()
    loss = hint(t(S_FEAT), t(T_FEAT))
    regressed = hint.regressor(t(S_FEAT))
    assert regressed.shape == (6, 5, 2, 2)
    assert loss.item() == pytest.approx(((regressed.detach().numpy() - T_FEAT) ** 2).mean())
    loss.backward()
    assert all(p.grad is not None for p in hint.parameters())
    vector = HintLoss((60,), (120,))
    assert vector(torch.randn(4, 60), torch.randn(4, 120)).dim() == 0
    with pytest.raises(ValueError, match="smaller"):
        HintLoss((3, 2, 2), (5, 4, 4))


def test_crd_nce_golden_and_bank_updates():
    torch.manual_seed(0)
    crd = CRDLoss(student_dim=3, teacher_dim=4, n_data=20, feat_dim=2, negatives=4, temperature=0.5).double()
    scores = t(RNG.uniform(-1, 1, size=(3, 5)))
    crd.z[0] = 7.0  # a fixed normalisation constant
    out = np.exp(scores.numpy() / 0.5) / 7.0
    k, pn = 4, 1 / 20
    expected = -(np.log(out[:, 0] / (out[:, 0] + k * pn + 1e-7)).sum()
                 + np.log(k * pn / (out[:, 1:] + k * pn + 1e-7)).sum()) / 3
    assert crd._nce(scores, 0).item() == pytest.approx(expected, rel=1e-10)

    idx = torch.tensor([1, 5, 7])
    before = crd.bank_s.clone()
    loss = crd(torch.randn(3, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64), idx)
    loss.backward()
    assert torch.isfinite(loss) and crd.embed_s.weight.grad is not None
    changed = (crd.bank_s != before).any(1)
    assert changed[idx].all() and changed.sum() == 3
    assert torch.allclose(crd.bank_s[idx].norm(dim=1), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="indices"):
        crd(torch.randn(3, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64))


def test_crd_queue_mode_is_bounded():
    crd = CRDLoss(student_dim=3, teacher_dim=4, n_data=None, queue_size=8, negatives=5)
    for _ in range(5):
        loss = crd(torch.randn(3, 3), torch.randn(3, 4))
        assert torch.isfinite(loss)
    assert crd.bank_s.shape == (8, 128) and int(crd.filled) == 15


def test_feature_hooks_capture_and_are_removed_even_on_error():
    model = build_model("lenet5", 1, 10)
    x = torch.randn(2, 1, 32, 32)
    with FeatureHooks(model, ["features", "features.relu1"]) as feats:
        model(x)
        assert feats["features"].shape == (2, 120) and feats["features.relu1"].shape == (2, 6, 28, 28)
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(RuntimeError), FeatureHooks(model, ["features.conv2"]):
        assert len(model.features.conv2._forward_hooks) == 1
        raise RuntimeError("boom")
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(ValueError, match="no module"):
        FeatureHooks(model, ["features.conv9"])


def test_route_schedule_moves_through_anchors_to_the_last():
    anchors = [torch.nn.Linear(1, 1) for _ in range(3)]
    route = RouteSchedule(anchors, epochs=6)
    assert [route.index_at(e) for e in range(6)] == [0, 0, 1, 1, 2, 2]
    assert route.teacher_at(5) is anchors[-1]
    with pytest.raises(ValueError, match="at least as many"):
        RouteSchedule(anchors, epochs=2)


FEATURE_LOSSES = [name for name in KD_LOSSES.names() if name not in LOGIT_LOSSES]


@pytest.mark.parametrize("name", FEATURE_LOSSES)
def test_every_registered_feature_loss_trains_through_the_kd_objective(name):
    torch.manual_seed(0)
    teacher, student = build_model("lenet5", 1, 10).eval(), build_model("lenet5-half", 1, 10)
    x = torch.randn(8, 1, 32, 32)
    objective = KDObjective(student, teacher, x[:2], feature_loss=name, feature_weight=2.0)
    loss = objective(x)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is None for p in teacher.parameters())
    heads = objective.parameters()
    assert bool(heads) == isinstance(KD_LOSSES.get(name), type)  # FitNets' regressor, CRD's projections
    assert all(p.grad is not None for p in heads)
    assert all(len(m._forward_hooks) == 0 for m in (*student.modules(), *teacher.modules()))
    pairs = len(stage_layers(student)) if name == "at" else 1
    assert len(objective.pairs) == pairs


def test_kd_objective_without_a_feature_loss_is_hinton_kd_and_refuses_bad_requests():
    teacher, student = build_model("lenet5", 1, 10).eval(), build_model("lenet5-half", 1, 10)
    x = torch.randn(4, 1, 32, 32)
    plain = KDObjective(student, teacher, x[:2], temperature=3.0)
    with torch.no_grad():
        assert torch.equal(plain(x), hinton_kd(student(x), teacher(x), temperature=3.0))
    with pytest.raises(UserError, match="compares logits"):
        KDObjective(student, teacher, x[:2], feature_loss="l1", feature_weight=1.0)
    with pytest.raises(UserError, match="unknown KD loss"):
        KDObjective(student, teacher, x[:2], feature_loss="sp2", feature_weight=1.0)
    with pytest.raises(UserError, match="weight > 0"):
        KDObjective(student, teacher, x[:2], feature_loss="sp")
    with pytest.raises(UserError, match="penultimate"):
        KDObjective(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1024, 10)), teacher, x[:2],
                    feature_loss="sp", feature_weight=1.0)


def test_distill_on_data_trains_the_student_and_the_loss_heads(mnist):
    train, test = mnist
    subset = type(train)(train.name, train.images[:512], train.labels[:512], 10, train.mean, train.std)
    torch.manual_seed(0)
    teacher, student = build_model("lenet5", 1, 10).eval(), build_model("lenet5-half", 1, 10)
    objective = KDObjective(student, teacher, subset.images[:2], feature_loss="fitnets", feature_weight=1.0)
    before = [p.detach().clone() for p in objective.parameters()]
    history = distill_on_data(student, teacher, subset, TrainConfig(epochs=2, batch_size=64), objective=objective)
    assert history["loss"][-1] < history["loss"][0]
    assert any(not torch.equal(a, b) for a, b in zip(before, objective.parameters(), strict=True))
    with pytest.raises(UserError, match="another student"):
        distill_on_data(build_model("lenet5-half", 1, 10), teacher, subset, TrainConfig(epochs=1), objective=objective)
