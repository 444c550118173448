"""The ``graphdistill`` command end to end on real Cora: run folders, resume, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.io import leftover_partials
from tests.cli_helpers import run_cli

SMALL = ["--runs", "2", "--epochs", "30", "--no-progress"]




def test_condense_writes_a_complete_run_folder_and_evaluates_other_archs(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(["condense", "cora", "--method", "random", "--ratio", "0.1",
                               "--out", str(out), "--data-root", str(data_root), *SMALL], capsys)
    assert code == 0
    assert "14 nodes = 10.0% of 140 training nodes = 0.52% of all 2708 nodes" in stdout
    for name in ("config.json", "synthetic.pt", "metrics.json", "report.md", "curves.png", "graph.png"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint.pt").exists() and leftover_partials(out) == []
    assert json.loads((out / "config.json").read_text())["identity"]["data_source"] == "planetoid"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["budget"] == 14 and metrics["runs"] == 2 and 0 < metrics["test_mean"] <= 1
    assert "| cora | random | 14 |" in stdout
    code, stdout, _ = run_cli(["condense", "cora", "--method", "random", "--budget", "14",
                               "--out", str(out), "--data-root", str(data_root), *SMALL], capsys)
    assert code == 0 and "is complete" in stdout  # same run (ratio 0.1 = 14 nodes): nothing redone
    code, stdout, _ = run_cli(["evaluate", str(out), "--arch", "sgc,mlp", "--runs", "1",
                               "--data-root", str(data_root), "--no-progress"], capsys)
    assert code == 0 and "| sgc |" in stdout
    assert set(json.loads((out / "metrics.json").read_text())["cross_arch"]) == {"sgc", "mlp"}
    code, stdout, _ = run_cli(["evaluate", str(out), "--arch", "mlp", "--runs", "1", "--dropout", "0",
                               "--data-root", str(data_root), "--no-progress"], capsys)
    cross = json.loads((out / "metrics.json").read_text())["cross_arch"]
    assert code == 0 and "| mlp, dropout 0 |" in stdout and cross["mlp, dropout 0"]["dropout"] == 0.0
    assert set(cross) == {"sgc", "mlp", "mlp, dropout 0"}  # the default-protocol rows are kept apart
    code, _, err = run_cli(["evaluate", str(out), "--dropout", "1.5"], capsys)
    assert code == 2 and "dropout must be in [0, 1)" in err


def test_condense_with_gcond_writes_its_curves_and_the_labelled_weighted_graph(data_root, tmp_path, capsys,
                                                                              monkeypatch):
    out = tmp_path / "gcond"
    code, stdout, _ = run_cli(["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(out),
                               "--hp", "epochs=4", "--hp", "eval_every=2", "--hp", "outer=2",
                               "--data-root", str(data_root), *SMALL], capsys)
    assert code == 0 and "| cora | gcond | 14 |" in stdout
    assert (out / "condensation.png").is_file() and "condensation curves" in (out / "report.md").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["condense_seconds"] > 0 and metrics["condense_peak_rss_mib"] > 0
    from graphdistill.graph import CondensedGraph

    graph = CondensedGraph.load(out)
    assert graph.meta["config"]["inner"] == 15 and graph.meta["config"]["epochs"] == 4  # Cora preset + --hp
    assert graph.edge_weight is not None and graph.y.shape == (14,)
    assert graph.meta["selected_epoch"] in (2, 4) and len(graph.meta["val_curve"]) == 2
    # A changed preset is a different run: the folder is refused, not silently reused.
    from graphdistill.graph import gcond

    original = gcond.load_presets
    monkeypatch.setattr(gcond, "load_presets", lambda method: {**original(method), "cora": {"inner": 3}})
    code, _, err = run_cli(["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(out),
                            "--hp", "epochs=4", "--hp", "eval_every=2", "--hp", "outer=2",
                            "--data-root", str(data_root), *SMALL], capsys)
    assert code == 2 and "holds a different run (differs in config)" in err


@pytest.mark.parametrize("args, message", [
    (["condense", "cora", "--method", "gcond-x", "--budget", "14", "--hp", "structure=pge"], "fixes structure"),
    (["condense", "cora", "--method", "gcond", "--budget", "14", "--hp", "distance=cos"], "unknown gradient distance"),
    (["condense", "cora-x", "--method", "random", "--budget", "10"], "unknown dataset 'cora-x'"),
    (["condense", "cora", "--method", "gcondd", "--budget", "10"], "unknown condensation method"),
    (["condense", "cora", "--method", "random", "--budget", "0"], "positive"),
    (["condense", "cora", "--method", "random", "--budget", "141"], "exceeds the 140 training nodes"),
    (["condense", "cora", "--method", "random", "--ratio", "1.5"], r"\(0, 1\]"),
    (["condense", "cora", "--method", "random", "--budget", "10", "--arch", "gcnn"], "unknown graph model"),
    (["condense", "mutag", "--method", "random", "--budget", "10"], "--graphs-per-class K"),
    (["evaluate", "/nonexistent-run", "--arch", "gcn"], "not a run folder"),
    (["datasets", "fetch"], "name the dataset"),
    (["condense", "cora", "--method", "herding", "--budget", "14", "--hp", "epochs=abc"], "must be int"),
    (["condense", "cora", "--method", "herding", "--budget", "14", "--hp", "epochs=0"], "epochs must be"),
    (["condense", "cora", "--method", "herding", "--budget", "14", "--hp", "epoch=3"], "unknown hyper-parameter"),
    (["demo", "--budgets", "35,9999"], "exceeds the 140 training nodes"),
    (["demo", "--arch", "gcnn"], "unknown graph model"),
    (["whole", "cora", "--runs", "0"], "--runs must be"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message, data_root, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*args, "--data-root", str(data_root)], capsys)
    assert not (tmp_path / "runs").exists()  # refused before any folder or long work
    assert code == 2
    assert message.replace("\\", "") in err or __import__("re").search(message, err), err
    assert err.count("\n") == 1


def test_output_folder_holding_another_run_is_refused(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    base = ["condense", "cora", "--method", "random", "--out", str(out), "--data-root", str(data_root)]
    assert run_cli([*base, "--budget", "7", *SMALL], capsys)[0] == 0
    code, _, err = run_cli([*base, "--budget", "14", *SMALL], capsys)
    assert code == 2 and "holds a different run (differs in budget)" in err
    other = tmp_path / "stuff"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _, err = run_cli([*base[:-4], "--out", str(other), "--budget", "7",
                            "--data-root", str(data_root), *SMALL], capsys)
    assert code == 2 and "not a graphdistill run" in err
    code, _, err = run_cli([*base[:-4], "--out", str(other / "notes.txt"), "--budget", "7",
                            "--data-root", str(data_root), *SMALL], capsys)
    assert code == 2 and "is a file" in err
    (out / "config.json").write_text("{ truncated")
    code, _, err = run_cli([*base, "--budget", "7", *SMALL], capsys)
    assert code == 2 and "unreadable" in err
    code, _, err = run_cli(["evaluate", str(out), "--runs", "0"], capsys)
    assert code == 2 and "runs must be" in err


def test_budget_below_the_number_of_classes_leaves_no_folder(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["condense", "cora", "--method", "random", "--budget", "3", "--out", str(out),
                            "--data-root", str(data_root), *SMALL], capsys)
    assert code == 2 and "7 classes" in err and not out.exists()


def test_missing_data_files_fail_before_work(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GRAPHDISTILL_DATA", raising=False)
    monkeypatch.setenv("GRAPHDISTILL_OFFLINE", "1")
    code, _, err = run_cli(["condense", "citeseer", "--method", "random", "--budget", "12",
                            "--data-root", str(tmp_path), *SMALL], capsys)
    assert code == 2 and "ind.citeseer.x" in err


def test_sigkill_then_rerun_resumes_and_matches_an_uninterrupted_run(data_root, tmp_path, capsys):
    args = ["condense", "cora", "--method", "herding", "--hp", "epochs=40", "--budget", "14",
            "--runs", "5", "--epochs", "150", "--data-root", str(data_root), "--no-progress"]
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "graphdistill.cli", *args, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ckpt, deadline = Checkpoint(out / "checkpoint.pt"), time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        state = ckpt.load() if ckpt.exists() else None
        if state and len(state.get("runs", [])) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "metrics.json").exists()
    done = len(Checkpoint(out / "checkpoint.pt").load()["runs"])
    assert 2 <= done < 5

    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "condensed graph loaded from the run folder" in result.stdout
    assert f"resuming: {done}/5 evaluation runs already done" in result.stdout
    assert leftover_partials(out) == [] and not (out / "checkpoint.pt").exists()

    fresh = tmp_path / "fresh"
    assert run_cli([*args, "--out", str(fresh)], capsys)[0] == 0
    resumed = json.loads((out / "metrics.json").read_text())["per_run"]
    uninterrupted = json.loads((fresh / "metrics.json").read_text())["per_run"]
    assert [r["test"] for r in resumed] == [r["test"] for r in uninterrupted]


@pytest.mark.network_registry
def test_condense_on_an_empty_root_runs_on_the_wheel_mirror(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GRAPHDISTILL_DATA", raising=False)
    monkeypatch.setenv("GRAPHDISTILL_OFFLINE", "1")  # dataset hosts unreachable
    root, out = tmp_path / "empty-root", tmp_path / "run"
    assert run_cli(["datasets", "fetch", "cora", "--data-root", str(root)], capsys)[0] == 0
    code, stdout, _ = run_cli(["condense", "cora", "--method", "kcenter", "--hp", "epochs=20", "--budget", "14",
                               "--data-root", str(root), "--out", str(out), *SMALL], capsys)
    assert code == 0 and "| cora | kcenter | 14 |" in stdout
    assert json.loads((out / "config.json").read_text())["identity"]["data_source"] == "mirror"
