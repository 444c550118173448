"""One text-distillation run as a folder: distil, evaluate against baselines, report.

``text_condense_run("bbc", per_class=1)`` writes into ``runs/bbc-text-dd-1-<objective>-<seed>/``:

* ``config.json`` — the run's identity (dataset, budget, objective, learner, length, seed, settings);
* ``checkpoint.pt`` while distilling (an interrupted run resumes from it), then ``synthetic.pt``
  (sequences, soft-label logits, step sizes, and which embedding table they belong to);
* ``metrics.json`` — test accuracy (mean ± std over fresh learners) of the distilled set, of random
  real documents at the same budget (a new random draw per run) and, unless skipped, of the whole
  training set; cross-learner rows; seconds and peak memory;
* ``report.md`` — the table, then every distilled sequence decoded to its nearest tokens with its
  label distribution; ``curves.png`` — the objective per iteration.
"""

from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config
from graphdistill.core.errors import UserError
from graphdistill.core.io import read_package_json, write_json, write_text
from graphdistill.core.plots import plot_series
from graphdistill.core.rundir import peak_memory_mib, prepare_folder, read_run_json
from graphdistill.core.seed import derive_seed
from graphdistill.text.data import load_corpus, stratified_split
from graphdistill.text.distill import EmbeddedCorpus, SyntheticText, TextDDConfig, TextDistiller, check_budget
from graphdistill.text.embeddings import EmbeddingSpace
from graphdistill.text.evaluate import EvalConfig, EvalResult, evaluate_real, evaluate_synthetic, random_real

DEFAULT_MODEL = "models/all-MiniLM-L6-v2"
CROSS_LEARNERS = ("meanpool", "transformer")


def find_model_folder(model: str | os.PathLike | None, data_root: str | os.PathLike | None) -> Path:
    """An explicit folder, else ``<data root>/models/all-MiniLM-L6-v2`` under the known data roots."""
    from graphdistill.core.datasets import candidate_roots

    if model is not None:
        return Path(model)
    for root in candidate_roots(data_root):
        if (root / DEFAULT_MODEL).is_dir():
            return root / DEFAULT_MODEL
    raise UserError(f"no word-piece model folder found ({DEFAULT_MODEL} under the data roots); pass --model FOLDER "
                    "(a Hugging Face BERT-style folder with tokenizer.json/vocab.txt and model.safetensors)")


def text_preset(dataset: str, per_class: int) -> dict:
    """Settings chosen for ``dataset`` at ``per_class`` (``text/presets.json``; empty if none)."""
    presets = read_package_json("graphdistill.text", "presets.json")
    return dict(presets.get(Path(dataset).stem.lower(), {}).get(str(per_class), {}))


def load_split(dataset: str, space: EmbeddingSpace, length: int, data_root=None, split_seed: int = 0
               ) -> tuple[EmbeddedCorpus, EmbeddedCorpus]:
    """The seeded stratified 80/20 split of a corpus, tokenised to ``length`` word pieces."""
    train, test = stratified_split(load_corpus(dataset, data_root), 0.2, seed=split_seed)
    return EmbeddedCorpus.build(train, space, length), EmbeddedCorpus.build(test, space, length)


def random_real_result(real: EmbeddedCorpus, test: EmbeddedCorpus, per_class: int, learner: str,
                       config: EvalConfig) -> EvalResult:
    """Random real documents at the budget: a fresh draw for every run, one learner each."""
    accuracies, seconds = [], 0.0
    for run in range(config.runs):
        index = random_real(real, per_class, derive_seed(config.seed, "draw", run))
        one = evaluate_real(real, index, test, learner, replace(config, runs=1, seed=derive_seed(config.seed, run)))
        accuracies += one.accuracies
        seconds += one.seconds
    return EvalResult(accuracies, seconds)


def text_condense_run(dataset: str = "bbc", per_class: int = 1, *, hyper: dict | None = None, seed: int = 0,
                      out: str | os.PathLike | None = None, data_root=None, model=None, length: int = 128,
                      runs: int = 5, eval_steps: int = 300, full_epochs: int = 5, with_full: bool = True,
                      cross: tuple[str, ...] = CROSS_LEARNERS, log=print) -> dict:
    """Distil ``dataset`` to ``per_class`` sequences per class and evaluate; see the module docstring."""
    settings = {**text_preset(dataset, per_class), **(hyper or {}), "per_class": per_class, "seed": seed}
    config = build_config(TextDDConfig, settings, "text-dd")
    evaluation = EvalConfig(steps=eval_steps, runs=runs, seed=seed)
    space = EmbeddingSpace.from_folder(find_model_folder(model, data_root))
    real, test = load_split(dataset, space, length, data_root)
    check_budget(real, per_class)
    out = Path(out or f"runs/{Path(dataset).stem}-text-dd-{per_class}-{config.objective}-{seed}")
    identity = {"dataset": dataset, "per_class": per_class, "length": length, "seed": seed, "runs": runs,
                "eval_steps": eval_steps, "config": asdict(config), "embedding": space.fingerprint()}
    prepare_folder(out, identity)
    write_json(out / "config.json", {"identity": identity, "model_folder": str(space.source)})

    syn_path = out / "synthetic.pt"
    if syn_path.is_file():
        syn = SyntheticText.load(syn_path)
        log(f"distilled set found in {syn_path}")
    else:
        distiller = TextDistiller(config)
        syn = distiller.fit(real, checkpoint=Checkpoint(out / "checkpoint.pt"), log=log)
        syn.meta["losses"] = distiller.history.losses
        syn.save(syn_path)
        (out / "checkpoint.pt").unlink(missing_ok=True)
    log(f"distilled in {syn.meta['seconds']:.1f} s; evaluating with {runs} fresh learners")

    metrics_path = out / "metrics.json"
    metrics = read_run_json(metrics_path) if metrics_path.is_file() else {}
    rows = metrics.setdefault("rows", {})

    def row(key: str, compute) -> None:
        if key not in rows:
            rows[key] = compute().to_dict()
            write_json(metrics_path, metrics)
            log(f"{key}: {100 * rows[key]['mean']:.2f} ± {100 * rows[key]['std']:.2f} %")

    learner = config.learner
    row(f"distilled/{learner}", lambda: evaluate_synthetic(syn, test, learner, evaluation))
    if syn.step_sizes is not None:
        row(f"distilled-unrolled/{learner}", lambda: evaluate_synthetic(syn, test, learner, evaluation, "unrolled"))
    row(f"random/{learner}", lambda: random_real_result(real, test, per_class, learner, evaluation))
    for other in cross:
        row(f"distilled/{other}", lambda other=other: evaluate_synthetic(syn, test, other, evaluation))
        row(f"random/{other}", lambda other=other: random_real_result(real, test, per_class, other, evaluation))
    if with_full:
        steps = full_epochs * -(-len(real) // evaluation.batch)
        row(f"full/{learner}", lambda: evaluate_real(real, None, test, learner, replace(evaluation, steps=steps)))
    metrics.update({"dataset": dataset, "per_class": per_class, "budget": per_class * real.num_classes,
                    "train_documents": len(real), "test_documents": len(test),
                    "objective": config.objective if config.iterations else "none (initialisation only)",
                    "init": config.init, "segments": config.segments, "texture": config.texture,
                    "learner": learner, "condense_seconds": syn.meta["seconds"],
                    "evaluate_seconds": sum(r["seconds"] for r in rows.values()),
                    **{k: max(v, metrics.get(k, 0.0)) for k, v in peak_memory_mib().items()}})
    write_json(metrics_path, metrics)
    _report(out, syn, space, real, metrics)
    return metrics


def _report(out: Path, syn: SyntheticText, space: EmbeddingSpace, real: EmbeddedCorpus, metrics: dict) -> None:
    lines = [f"# Text distillation: {metrics['dataset']}, {metrics['per_class']} per class "
             f"({metrics['budget']} sequences from {metrics['train_documents']} documents), "
             f"objective {metrics['objective']}", "",
             "| training set / learner | test accuracy (%) | runs |", "|---|---|---|"]
    for key, r in metrics["rows"].items():
        lines.append(f"| {key} | {100 * r['mean']:.2f} ± {100 * r['std']:.2f} | {len(r['accuracies'])} |")
    lines += ["", f"Distillation {metrics['condense_seconds']:.1f} s; evaluation {metrics['evaluate_seconds']:.1f} s.",
              "", "## Distilled sequences, decoded to their nearest tokens (cosine)", ""]
    targets = syn.targets()
    for i, text in enumerate(syn.decode(space)):
        labels = ", ".join(f"{name} {p:.2f}" for name, p in zip(real.classes, targets[i].tolist(), strict=True))
        lines += [f"**{i}: {real.classes[int(syn.classes_of[i])]}** — label: {labels}", "", f"> {text}", ""]
    write_text(out / "report.md", "\n".join(lines))
    losses = syn.meta.get("losses")
    if losses:
        plot_series({metrics["objective"]: losses}, out / "curves.png", xlabel="iteration", ylabel="objective",
                    title="text distillation objective")

