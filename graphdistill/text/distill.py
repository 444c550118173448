"""Text dataset distillation in a fixed embedding space, with learnable soft labels.

Sucholutsky & Schonlau ("Soft-Label Dataset Distillation and Text Dataset Distillation", IJCNN
2021): text is discrete, so the distilled data live after the embedding lookup. Each synthetic
example is a free (length × dim) matrix of word-piece embedding vectors, initialised from a random
real document of its class, with a learnable label distribution (softmax of free logits). Three
objectives train them, each a round of the shared core:

* ``"meta"`` — the paper's meta-model matching (Dataset Distillation, Wang et al. 2018): from a
  fresh random initialisation, T plain gradient steps of the learner on the synthetic set with
  learned step sizes (:func:`graphdistill.core.unroll.unrolled_sgd`, optionally truncated), then
  the cross-entropy of the trained learner on a real batch, back-propagated into sequences, soft
  labels and step sizes.
* ``"gradient"`` — gradient matching (DC, Zhao et al., ICLR 2021) through
  :func:`graphdistill.core.matching.match_epoch`: per class, the learner's gradient on a real
  batch vs on the synthetic examples (layer-wise distance), from fresh initialisations; one-step
  (at initialisation) by default, DC's outer/inner loops when ``outer > 1``.
* ``"distribution"`` — distribution matching (DM, Zhao & Bilen, WACV 2023) through
  :mod:`graphdistill.core.distribution`: class means of a freshly initialised learner's features.

Soft labels are learned by the meta objective only: gradient and distribution matching compare
class-conditional statistics, which do not depend on the labels' values (they keep one-hot
labels, and say so in their results).

Example::

    space = EmbeddingSpace.from_folder("../shared/data/models/all-MiniLM-L6-v2")
    train, test = stratified_split(load_corpus("bbc"), seed=0)
    real = EmbeddedCorpus.build(train, space, length=128)
    syn = TextDistiller(TextDDConfig(per_class=1)).fit(real)      # SyntheticText
    syn.decode(space)[0]                                           # nearest tokens, readable
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.clustering import kmeans
from graphdistill.core.config import require_at_least
from graphdistill.core.distribution import mean_embedding_distance, real_class_means
from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch
from graphdistill.core.matching import DISTANCES, match_epoch
from graphdistill.core.registry import Registry
from graphdistill.core.seed import derive_seed
from graphdistill.core.unroll import detached_parameters, unrolled_sgd
from graphdistill.text.data import Corpus
from graphdistill.text.embeddings import EmbeddingSpace
from graphdistill.text.learners import LEARNERS, build_learner

# --- real data ---------------------------------------------------------------------------------


@dataclass
class EmbeddedCorpus:
    """A split as token ids (N, L) plus the embedding space that turns them into (N, L, D) inputs.

    Embedding happens per batch (a gather), so the whole split is never held as floats.
    """

    ids: torch.Tensor  # (N, L) int64
    labels: torch.Tensor  # (N,) int64
    space: EmbeddingSpace
    classes: tuple[str, ...]
    _members: list[torch.Tensor] | None = field(default=None, repr=False)

    @classmethod
    def build(cls, corpus: Corpus, space: EmbeddingSpace, length: int) -> EmbeddedCorpus:
        ids = space.encode(corpus.texts, length)
        empty = torch.nonzero((ids != space.pad_id).sum(1) == 0).flatten()
        if len(empty):
            raise UserError(f"{len(empty)} document(s) have no tokens after tokenisation (e.g. number "
                            f"{int(empty[0])}): remove them")
        return cls(ids, torch.as_tensor(corpus.labels), space, corpus.classes)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def length(self) -> int:
        return self.ids.shape[1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def embed(self, index: torch.Tensor | slice | None = None) -> torch.Tensor:
        return self.space.embed(self.ids if index is None else self.ids[index])

    def document_means(self, index: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """(n, D) mean embedding of each document's word pieces (padding excluded)."""
        rows = []
        for start in range(0, len(index), chunk):
            part = index[start:start + chunk]
            tokens = (self.ids[part] != self.space.pad_id).sum(1, keepdim=True)
            rows.append(self.embed(part).sum(1) / tokens)
        return torch.cat(rows)

    def class_members(self) -> list[torch.Tensor]:
        """Indices of each class's documents (computed once; every real batch draws from them)."""
        if self._members is None:
            self._members = [torch.nonzero(self.labels == c).flatten() for c in range(self.num_classes)]
        return self._members

    def stratified_batch(self, per_class: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(C·k, L, D) embeddings and (C·k,) labels: k random documents of every class, class-major."""
        index = torch.cat([m[torch.randint(len(m), (per_class,), generator=generator)] for m in self.class_members()])
        return self.embed(index), self.labels[index]


# --- the synthetic set -------------------------------------------------------------------------


@dataclass
class SyntheticText:
    """Distilled sequences with their labels.

    Attributes:
        sequences: (M, L, D) embedding matrices.
        label_logits: (M, C); the soft label of example i is ``softmax(label_logits[i])``.
        classes_of: (M,) the class each example was initialised from (and stands for).
        step_sizes: (T,) learned step sizes of the meta objective (``None`` for the others).
    """

    sequences: torch.Tensor
    label_logits: torch.Tensor
    classes_of: torch.Tensor
    step_sizes: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def targets(self) -> torch.Tensor:
        """(M, C) label distributions."""
        return self.label_logits.detach().softmax(1)

    def decode(self, space: EmbeddingSpace) -> list[str]:
        return space.decode(self.sequences.detach())

    def save(self, path: str | os.PathLike) -> None:
        save_torch(path, {"sequences": self.sequences.detach().cpu(), "label_logits": self.label_logits.detach().cpu(),
                          "classes_of": self.classes_of.cpu(), "meta": self.meta,
                          "step_sizes": None if self.step_sizes is None else self.step_sizes.detach().cpu()})

    @classmethod
    def load(cls, path: str | os.PathLike) -> SyntheticText:
        state = load_torch(path)
        missing = {"sequences", "label_logits", "classes_of"} - set(state)
        if missing:
            raise UserError(f"{path} is not a distilled text set (missing {sorted(missing)})")
        return cls(state["sequences"], state["label_logits"], state["classes_of"], state.get("step_sizes"),
                   state.get("meta", {}))


# --- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDDConfig:
    """Hyper-parameters of :class:`TextDistiller` (defaults: the BBC News setting of our benchmark)."""

    per_class: int = 1
    objective: str = "meta"
    init: str = "centroid"  # "centroid": k-means groups' mean word pieces in blocks; "real": random documents
    segments: int = 16  # centroid init: blocks (k-means groups) per sequence, fewer if a class is small
    texture: float = 0.0  # centroid init: weight of a central document's word-piece deviations added to each block
    learner: str = "textcnn"
    iterations: int = 300
    lr_sequences: float = 0.05  # Adam on the (unit-scale) embedding matrices
    lr_labels: float = 0.05  # Adam on the label logits (meta only)
    label_init: float = 4.0  # initial logit of the own class (softmax ≈ 0.93 with 5 classes)
    real_per_class: int = 20  # real documents per class in one objective evaluation
    # meta objective
    inner_steps: int = 10
    step_size: float = 0.01  # initial learned step size
    lr_step_sizes: float = 0.01  # Adam on log step sizes
    backprop_steps: int | None = None  # truncation of the unroll (None: the whole unroll)
    inner_dropout: float = 0.0  # learner dropout inside the unroll
    # gradient objective
    outer: int = 1
    inner: int = 0
    distance: str = "layerwise"
    seed: int = 0
    checkpoint_every: int = 25

    def __post_init__(self) -> None:
        require_at_least(self, 1, "per_class", "segments", "real_per_class", "inner_steps", "outer",
                         "checkpoint_every")
        require_at_least(self, 0, "iterations", "inner", "label_init", "inner_dropout", "texture")
        for name in ("lr_sequences", "lr_labels", "step_size", "lr_step_sizes"):
            if not getattr(self, name) > 0:
                raise UserError(f"{name} must be positive, got {getattr(self, name)}")
        OBJECTIVES.get(self.objective)
        LEARNERS.get(self.learner)
        if self.init not in ("centroid", "real"):
            raise UserError(f"init must be 'centroid' or 'real', got {self.init!r}")
        DISTANCES.get(self.distance)


# --- objectives --------------------------------------------------------------------------------

Step = Callable[[torch.Tensor], None]


@dataclass
class Round:
    """What one objective evaluation sees: the synthetic tensors, real data, a learner factory."""

    syn: SyntheticText
    real: EmbeddedCorpus
    new_learner: Callable[..., nn.Module]
    config: TextDDConfig
    generator: torch.Generator


OBJECTIVES: Registry[Callable[[Round, Step], torch.Tensor]] = Registry("text distillation objective")


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over rows of −Σ_c targets[c] · log softmax(logits)[c]; (B, C) both."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()


@OBJECTIVES.register("meta")
def meta_round(r: Round, step: Step) -> torch.Tensor:
    """Train a fresh learner on S by unrolled SGD, score it on a real batch, step S."""
    model = r.new_learner(dropout=r.config.inner_dropout)
    model.train()
    targets = r.syn.label_logits.softmax(1)

    def step_loss(params, _t):
        return soft_cross_entropy(functional_call(model, params, (r.syn.sequences,)), targets)

    final = unrolled_sgd(step_loss, detached_parameters(model), r.syn.step_sizes,
                         backprop_steps=r.config.backprop_steps)
    x, y = r.real.stratified_batch(r.config.real_per_class, r.generator)
    model.eval()
    loss = F.cross_entropy(functional_call(model, final, (x,)), y)
    step(loss)
    return loss.detach()


class _TextMatching:
    """The core's :class:`~graphdistill.core.matching.MatchingProblem` for embedded sequences."""

    vectorize_real = True

    def __init__(self, r: Round) -> None:
        self.r = r

    def new_model(self) -> nn.Module:
        return self.r.new_learner(dropout=0.0)

    def _class_losses(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        per_example = F.cross_entropy(model(x), y, reduction="none")
        sums = torch.zeros(self.r.real.num_classes, dtype=per_example.dtype).index_add(0, y, per_example)
        return sums / torch.bincount(y, minlength=self.r.real.num_classes).clamp_min(1)

    def real_class_losses(self, model: nn.Module) -> torch.Tensor:
        x, y = self.r.real.stratified_batch(self.r.config.real_per_class, self.r.generator)
        return self._class_losses(model, x, y)

    def synthetic_class_losses(self, model: nn.Module) -> torch.Tensor:
        return self._class_losses(model, self.r.syn.sequences, self.r.syn.classes_of)

    def inner_objective(self) -> Callable[[nn.Module], torch.Tensor]:
        x, y = self.r.syn.sequences.detach(), self.r.syn.classes_of
        return lambda model: F.cross_entropy(model(x), y)


@OBJECTIVES.register("gradient")
def gradient_round(r: Round, step: Step) -> torch.Tensor:
    """One DC round (fresh model; ``outer`` matching steps separated by ``inner`` model steps)."""
    weights = torch.ones(r.real.num_classes)
    return match_epoch(_TextMatching(r), outer=r.config.outer, inner=r.config.inner,
                       distance=DISTANCES.get(r.config.distance), class_weights=weights, update=step)


@OBJECTIVES.register("distribution")
def distribution_round(r: Round, step: Step) -> torch.Tensor:
    """Σ_c ‖class mean of real features − class mean of synthetic features‖², fresh learner."""
    model = r.new_learner(dropout=0.0)
    model.eval()
    x, y = r.real.stratified_batch(r.config.real_per_class, r.generator)
    with torch.no_grad():
        real_means = real_class_means(model.features(x), y, r.real.num_classes)
    loss = mean_embedding_distance(real_means, model.features(r.syn.sequences), r.syn.classes_of).sum()
    step(loss)
    return loss.detach()


def check_budget(real: EmbeddedCorpus, per_class: int) -> None:
    """Refuse a per-class budget that some class cannot fill with distinct documents."""
    counts = torch.bincount(real.labels, minlength=real.num_classes)
    short = [real.classes[c] for c in range(real.num_classes) if counts[c] < per_class]
    if short:
        raise UserError(f"class(es) {short} have fewer than per_class={per_class} training documents "
                        f"(counts: {dict(zip(real.classes, counts.tolist(), strict=True))})")


# --- the distiller -----------------------------------------------------------------------------


def block_deviations(real: EmbeddedCorpus, members: torch.Tensor, means: torch.Tensor, assignment: torch.Tensor,
                     centres: torch.Tensor) -> torch.Tensor:
    """(groups, L, D): for each k-means group, the word-piece embeddings of its document nearest the
    centre minus that document's mean (zero at padding) — the within-document variation that flat
    centre blocks lack (a learner trained only on constant windows never sees it)."""
    own = assignment.unsqueeze(0) == torch.arange(len(centres)).unsqueeze(1)  # (groups, n)
    distance = torch.cdist(centres, means).masked_fill(~own & own.any(1, keepdim=True), math.inf)
    nearest = distance.argmin(1)  # a member of the group (any document if the group is empty)
    docs = members[nearest]
    tokens = (real.ids[docs] != real.space.pad_id).unsqueeze(2)
    return (real.embed(docs) - means[nearest].unsqueeze(1)) * tokens


@dataclass
class FitHistory:
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


class TextDistiller:
    """Distil a real embedded corpus into ``per_class`` sequences per class (see module docstring)."""

    def __init__(self, config: TextDDConfig | None = None) -> None:
        self.config = config or TextDDConfig()
        self.history = FitHistory()

    def initial(self, real: EmbeddedCorpus) -> SyntheticText:
        """The starting synthetic set (``config.init``).

        ``"real"``: ``per_class`` random distinct documents of each class, as embedded. ``"centroid"``:
        each class's documents are split into ``per_class`` × ``segments`` groups by k-means on their
        mean word-piece embeddings; a group's block is its centre (the mean of its documents' mean
        embeddings) repeated at every position — with one group, the minimiser of the linear-kernel MMD between
        the class's word-piece distribution and the sequence's — plus ``texture`` × the word-piece
        deviations of the group's most central document. Flat blocks alone train TextCNNs whose
        accuracy on real text varies by several points with the learner's initialisation;
        the deviations give the windows real text's variation (BBC, 10 per class, validation
        split: 89.8 → 92.3 % at texture 0.3 over the same five learners, each of them higher; at 1
        per class they lower it, so the weight is a per-budget preset, ``text/presets.json``).
        """
        cfg = self.config
        check_budget(real, cfg.per_class)
        g = torch.Generator().manual_seed(derive_seed(cfg.seed, "init"))
        members = real.class_members()
        if cfg.init == "real":
            index = torch.cat([m[torch.randperm(len(m), generator=g)[: cfg.per_class]] for m in members])
            sequences, meta = real.embed(index).clone(), {"init_documents": index.tolist()}
        else:
            sequences = torch.cat([self._centroid_sequences(real, m, g) for m in members])
            meta = {"init": "centroid", "segments": cfg.segments, "texture": cfg.texture}
        classes_of = torch.arange(real.num_classes).repeat_interleave(cfg.per_class)
        logits = F.one_hot(classes_of, real.num_classes).float() * cfg.label_init
        step_sizes = torch.full((cfg.inner_steps,), cfg.step_size) if cfg.objective == "meta" else None
        return SyntheticText(sequences, logits, classes_of, step_sizes, meta)

    def _centroid_sequences(self, real: EmbeddedCorpus, members: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """(per_class, L, D): k-means of one class's documents into per_class·segments groups; sequence i
        is made of ``segments`` equal blocks, block j holding the centre of group i·segments + j plus
        ``texture`` × the word-piece deviations of that group's most central document at the block's
        positions. A class with fewer than per_class·segments documents gets fewer blocks."""
        cfg = self.config
        segments = max(1, min(cfg.segments, len(members) // cfg.per_class))  # a small class gets fewer blocks
        means = real.document_means(members)
        assignment, centres = kmeans(means, cfg.per_class * segments, generator=g)  # (n,), (k·s, D)
        block = torch.arange(real.length) * segments // real.length  # the block of each position
        sequences = centres.view(cfg.per_class, segments, -1)[:, block]
        if cfg.texture == 0:
            return sequences
        deviations = block_deviations(real, members, means, assignment, centres)  # (k·s, L, D)
        own = deviations.view(cfg.per_class, segments, real.length, -1)[:, block, torch.arange(real.length)]
        return sequences + cfg.texture * own

    def fit(self, real: EmbeddedCorpus, *, checkpoint: Checkpoint | None = None,
            log: Callable[[str], None] = print) -> SyntheticText:
        cfg = self.config
        syn = self.initial(real)
        log_steps = None if syn.step_sizes is None else syn.step_sizes.log().clone().requires_grad_(True)
        syn.sequences.requires_grad_(True)
        groups = [{"params": [syn.sequences], "lr": cfg.lr_sequences}]
        if cfg.objective == "meta":
            syn.label_logits.requires_grad_(True)
            groups += [{"params": [syn.label_logits], "lr": cfg.lr_labels},
                       {"params": [log_steps], "lr": cfg.lr_step_sizes}]
        optimizer = torch.optim.Adam(groups)
        generator = torch.Generator()
        new_learner = self._learner_factory(real)
        start = 0
        state = checkpoint.load() if checkpoint is not None else None
        if state is not None:
            with torch.no_grad():
                syn.sequences.copy_(state["sequences"])
                syn.label_logits.copy_(state["label_logits"])
                if log_steps is not None:
                    log_steps.copy_(state["log_steps"])
            optimizer.load_state_dict(state["optimizer"])
            self.history = FitHistory(list(state["losses"]), float(state["seconds"]))
            start = int(state["iteration"])
            log(f"resumed from iteration {start}")

        def step(loss: torch.Tensor) -> None:
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the {cfg.objective} objective became {float(loss)}; lower lr_sequences")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        objective = OBJECTIVES.get(cfg.objective)
        clock = time.perf_counter()
        for it in range(start, cfg.iterations):
            torch.manual_seed(derive_seed(cfg.seed, "learner", it))
            generator.manual_seed(derive_seed(cfg.seed, "real", it))
            if log_steps is not None:
                syn.step_sizes = log_steps.exp()
            r = Round(syn, real, new_learner, cfg, generator)
            self.history.losses.append(float(objective(r, step)))
            done = it + 1
            if checkpoint is not None and (done % cfg.checkpoint_every == 0 or done == cfg.iterations):
                checkpoint.save({"iteration": done, "sequences": syn.sequences.detach(),
                                 "label_logits": syn.label_logits.detach(),
                                 "log_steps": None if log_steps is None else log_steps.detach(),
                                 "optimizer": optimizer.state_dict(), "losses": self.history.losses,
                                 "seconds": self.history.seconds + time.perf_counter() - clock})
            if done % max(1, cfg.iterations // 10) == 0:
                log(f"iteration {done}/{cfg.iterations}: {cfg.objective} loss {self.history.losses[-1]:.4f}")
        self.history.seconds += time.perf_counter() - clock
        final = SyntheticText(syn.sequences.detach().clone(), syn.label_logits.detach().clone(), syn.classes_of,
                              None if log_steps is None else log_steps.detach().exp(),
                              dict(syn.meta, config=asdict(cfg), classes=list(real.classes),
                                   embedding=real.space.source, embedding_fingerprint=real.space.fingerprint(),
                                   embedding_scale=real.space.scale, seconds=self.history.seconds))
        if not math.isfinite(sum(self.history.losses[-5:])):
            raise FloatingPointError("distillation diverged")
        return final

    def _learner_factory(self, real: EmbeddedCorpus) -> Callable[..., nn.Module]:
        def new_learner(**kwargs) -> nn.Module:
            return build_learner(self.config.learner, real.space.dim, real.num_classes, real.length, **kwargs)
        return new_learner
