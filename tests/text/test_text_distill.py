"""Text distillation: learners, objectives, determinism, checkpoint/resume, bad input."""

import pytest
import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.clustering import kmeans
from graphdistill.core.errors import UserError
from graphdistill.text.data import stratified_split
from graphdistill.text.distill import EmbeddedCorpus, SyntheticText, TextDDConfig, TextDistiller, block_deviations
from graphdistill.text.evaluate import EvalConfig, evaluate_real, evaluate_synthetic, random_real
from graphdistill.text.learners import LEARNERS, build_learner


@pytest.mark.parametrize("name", LEARNERS.names())
def test_learners_map_sequences_to_logits(name):
    torch.manual_seed(0)
    model = build_learner(name, dim=8, num_classes=3, length=12)
    x = torch.randn(4, 12, 8, requires_grad=True)
    out = model(x)
    assert out.shape == (4, 3)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert model.features(x).shape[0] == 4
    with pytest.raises(UserError, match="expected"):
        model(torch.randn(4, 12, 7))


@pytest.fixture
def split(toy_corpus, space):
    train, test = stratified_split(toy_corpus, 0.25, seed=0)
    return EmbeddedCorpus.build(train, space, 12), EmbeddedCorpus.build(test, space, 12)


def _small(**kwargs):
    return TextDDConfig(**{"per_class": 1, "iterations": 4, "real_per_class": 3, "inner_steps": 3,
                           "step_size": 0.05, "checkpoint_every": 2, **kwargs})


@pytest.mark.parametrize("objective", ["meta", "gradient", "distribution"])
def test_each_objective_moves_the_sequences_and_is_deterministic(split, objective):
    real, _ = split
    first = TextDistiller(_small(objective=objective)).fit(real, log=lambda _: None)
    again = TextDistiller(_small(objective=objective)).fit(real, log=lambda _: None)
    start = TextDistiller(_small(objective=objective)).initial(real)
    assert first.sequences.shape == (3, 12, 8)
    assert torch.equal(first.sequences, again.sequences)
    assert not torch.equal(first.sequences, start.sequences)
    assert torch.allclose(first.targets().sum(1), torch.ones(3))
    if objective == "meta":
        assert first.step_sizes.shape == (3,) and not torch.equal(first.label_logits, start.label_logits)
    else:
        assert torch.equal(first.label_logits, start.label_logits)  # labels are not learned


def test_centroid_init_repeats_the_class_mean_and_real_init_copies_documents(split):
    real, _ = split
    syn = TextDistiller(_small(segments=1, texture=0.0)).initial(real)
    for c, members in enumerate(real.class_members()):
        mean = real.document_means(members).mean(0)
        assert torch.allclose(syn.sequences[c], mean.expand(real.length, -1), atol=1e-5)
    blocks = TextDistiller(_small(segments=3, texture=0.0)).initial(real).sequences[0]
    assert len(torch.unique(blocks, dim=0)) == 3  # three blocks of four equal positions
    copied = TextDistiller(_small(init="real")).initial(real)
    index = torch.tensor(copied.meta["init_documents"])
    assert torch.equal(copied.sequences, real.embed(index)) and torch.equal(real.labels[index], copied.classes_of)


def test_centroid_texture_adds_a_central_documents_deviations(split):
    real, _ = split
    flat, light, strong = (TextDistiller(_small(segments=2, texture=t)).initial(real).sequences
                           for t in (0.0, 0.3, 0.6))
    assert torch.allclose(strong - flat, 2 * (light - flat), atol=1e-5)  # linear in the texture weight
    members = real.class_members()[0]
    means = real.document_means(members)
    assignment, centres = kmeans(means, 2, generator=torch.Generator().manual_seed(0))
    deviations = block_deviations(real, members, means, assignment, centres)
    assert deviations.shape == (2, real.length, real.space.dim)
    assert torch.allclose(deviations.sum(1), torch.zeros(2, real.space.dim), atol=1e-4)  # zero mean over tokens
    for group, deviation in enumerate(deviations):  # each is a member document's tokens minus its mean
        doc = members[assignment == group][torch.cdist(centres[group:group + 1], means[assignment == group]).argmin()]
        tokens = (real.ids[doc] != real.space.pad_id).unsqueeze(1)
        expected = (real.embed(doc.view(1))[0] - real.document_means(doc.view(1))) * tokens
        assert torch.allclose(deviation, expected, atol=1e-5)


def test_resume_from_checkpoint_is_identical(split, tmp_path):
    real, _ = split
    whole = TextDistiller(_small()).fit(real, log=lambda _: None)
    ckpt = Checkpoint(tmp_path / "ckpt.pt")
    TextDistiller(_small(iterations=2)).fit(real, checkpoint=ckpt, log=lambda _: None)
    resumed = TextDistiller(_small()).fit(real, checkpoint=ckpt, log=lambda _: None)
    assert torch.allclose(whole.sequences, resumed.sequences, atol=1e-6)
    assert torch.allclose(whole.step_sizes, resumed.step_sizes, atol=1e-6)


def test_save_load_round_trip(split, tmp_path):
    real, _ = split
    syn = TextDistiller(_small(iterations=1)).fit(real, log=lambda _: None)
    syn.save(tmp_path / "s.pt")
    back = SyntheticText.load(tmp_path / "s.pt")
    assert torch.equal(back.sequences, syn.sequences) and torch.equal(back.step_sizes, syn.step_sizes)
    assert back.meta["classes"] == ["sport", "film", "money"]


def test_bad_settings_are_refused(split):
    real, _ = split
    with pytest.raises(UserError, match="fewer than per_class"):
        TextDistiller(_small(per_class=10)).initial(real)
    with pytest.raises(UserError, match="unknown text distillation objective"):
        TextDDConfig(objective="magic")
    with pytest.raises(UserError, match="unknown text learner"):
        TextDDConfig(learner="lstm9")
    with pytest.raises(UserError):
        TextDDConfig(iterations=-1)


def test_evaluation_learns_the_toy_task(split):
    real, test = split
    full = evaluate_real(real, None, test, "meanpool", EvalConfig(steps=150, lr=1e-2, runs=2))
    assert full.mean > 0.9
    few = evaluate_real(real, random_real(real, 1, seed=0), test, "textcnn", EvalConfig(steps=5, runs=2))
    assert len(few.accuracies) == 2
    syn = TextDistiller(_small(iterations=1)).fit(real, log=lambda _: None)
    assert 0 <= evaluate_synthetic(syn, test, "textcnn", EvalConfig(steps=5, runs=1), "unrolled").mean <= 1
