"""Validation-based tuning of node condensation: grids, the choice, and the run folder it leaves."""

import json

import pytest

from graphdistill.core.errors import UserError
from graphdistill.graph.tuning import best_by_validation, candidates, parse_grid, preset_grid
from tests.cli_helpers import run_cli

TINY_GCOND = ["--hp", "epochs=2", "--hp", "outer=1", "--hp", "inner=1", "--runs", "2", "--epochs", "20",
              "--no-progress"]


def test_grid_parsing_and_candidate_order():
    grid = parse_grid(["smoothness=0.02,0.1", "distance=mse,layerwise"])
    assert grid == {"smoothness": [0.02, 0.1], "distance": ["mse", "layerwise"]}
    assert candidates(grid) == [{"smoothness": 0.02, "distance": "mse"}, {"smoothness": 0.02, "distance": "layerwise"},
                                {"smoothness": 0.1, "distance": "mse"}, {"smoothness": 0.1, "distance": "layerwise"}]
    assert candidates({}) == [{}]  # no grid: the run itself


@pytest.mark.parametrize("pairs, message", [
    (["smoothness"], "NAME=V1,V2"), (["=1,2"], "NAME=V1,V2"), (["smoothness="], "NAME=V1,V2"),
    (["smoothness=0.1,0.1"], "repeats a value"),
])
def test_bad_grids_are_refused(pairs, message):
    with pytest.raises(UserError, match=message):
        parse_grid(pairs)


def test_the_choice_is_the_best_validation_and_ignores_test():
    scored = [{"hyper": {"a": 1}, "val_mean": 0.80, "test_mean": 0.90},
              {"hyper": {"a": 2}, "val_mean": 0.82, "test_mean": 0.70},
              {"hyper": {"a": 3}, "val_mean": 0.82, "test_mean": 0.95}]
    assert best_by_validation(scored)["hyper"] == {"a": 2}  # higher validation; the earlier of a tie
    with pytest.raises(UserError, match="empty"):
        best_by_validation([])


def test_gcond_on_cora_tunes_its_smoothness_by_default():
    assert preset_grid("gcond", "cora") == {"smoothness": [0.02, 0.1]}
    assert preset_grid("gcond", "citeseer") == {} and preset_grid("gcond-x", "cora") == {}


def test_a_tuned_run_keeps_the_best_validation_candidate_and_resumes(data_root, tmp_path, capsys):
    out = tmp_path / "tuned"
    args = ["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(out), "--data-root",
            str(data_root), "--tune", "smoothness=0,0.5", *TINY_GCOND]
    code, stdout, _ = run_cli(args, capsys)
    assert code == 0 and "| cora | gcond | 14 |" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    tuning = metrics["tuning"]
    assert [c["hyper"] for c in tuning["candidates"]] == [{"smoothness": 0}, {"smoothness": 0.5}]
    best = max(tuning["candidates"], key=lambda c: c["val_mean"])  # max() keeps the first of a tie too
    assert tuning["selected"] == best["hyper"] and metrics["val_mean"] == best["val_mean"]
    chosen = out / best["folder"]
    assert (out / "synthetic.pt").read_bytes() == (chosen / "synthetic.pt").read_bytes()
    assert json.loads((chosen / "metrics.json").read_text())["test_mean"] == metrics["test_mean"]
    assert "## Tuning" in (out / "report.md").read_text()
    from graphdistill.graph import CondensedGraph

    assert CondensedGraph.load(out).meta["config"]["smoothness"] == best["hyper"]["smoothness"]
    # A finished tuned folder is reported again, not recomputed; it can be evaluated like any run.
    code, _, _ = run_cli(args, capsys)
    assert code == 0 and json.loads((out / "metrics.json").read_text()) == metrics
    code, _, _ = run_cli(["evaluate", str(out), "--arch", "mlp", "--runs", "1", "--no-progress", "--data-root",
                          str(data_root)], capsys)
    assert code == 0 and "mlp" in json.loads((out / "metrics.json").read_text())["cross_arch"]
    # Another grid is another run: refused, not mixed with this one.
    code, _, err = run_cli([*args[:-len(TINY_GCOND) - 2], "--tune", "smoothness=0,0.2", *TINY_GCOND], capsys)
    assert code == 2 and "differs in tuning" in err


def test_fixing_a_tuned_name_turns_its_tuning_off_or_is_refused(data_root, tmp_path, capsys):
    out = tmp_path / "fixed"
    code, _, _ = run_cli(["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(out),
                          "--data-root", str(data_root), "--hp", "smoothness=0.1", *TINY_GCOND], capsys)
    assert code == 0 and not (out / "candidates").exists()  # the preset grid yields to --hp
    assert "tuning" not in json.loads((out / "metrics.json").read_text())
    code, _, err = run_cli(["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(tmp_path / "x"),
                            "--hp", "smoothness=0.1", "--tune", "smoothness=0,1", *TINY_GCOND], capsys)
    assert code == 2 and "both fixed (--hp) and tuned (--tune)" in err
    code, _, err = run_cli(["condense", "cora", "--method", "gcond", "--budget", "14", "--out", str(tmp_path / "y"),
                            "--tune", "smoothness=-1,0", *TINY_GCOND], capsys)
    assert code == 2 and "smoothness must be ≥ 0" in err and not (tmp_path / "y").exists()  # before any folder
    code, _, err = run_cli(["condense", "mnist", "--method", "dm", "--ipc", "1", "--tune", "lr_img=1,10"], capsys)
    assert code == 2 and "--tune is for node condensation" in err
