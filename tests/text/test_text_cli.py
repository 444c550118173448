"""`graphdistill condense <corpus> --method text-dd --per-class k`: run folder, report, bad input."""

import json

import pandas as pd
import pytest

from tests.cli_helpers import run_cli

FAST = ["--hp", "iterations=3", "--hp", "real_per_class=2", "--hp", "inner_steps=2", "--runs", "1",
        "--length", "12", "--no-full"]


@pytest.fixture
def corpus_csv(tmp_path, toy_corpus):
    path = tmp_path / "toy.csv"
    pd.DataFrame({"text": toy_corpus.texts, "label": [toy_corpus.classes[i] for i in toy_corpus.labels]}
                 ).to_csv(path, index=False)
    return path


def test_condense_text_writes_a_complete_run_folder(tmp_path, corpus_csv, model_folder, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run_cli(["condense", str(corpus_csv), "--method", "text-dd", "--per-class", "1",
                               "--model", str(model_folder), "--out", str(out), *FAST], capsys)
    assert code == 0
    assert "distilled/textcnn" in stdout and "random/textcnn" in stdout
    for name in ("config.json", "synthetic.pt", "metrics.json", "report.md", "curves.png"):
        assert (out / name).is_file(), name
    assert not (out / "checkpoint.pt").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["budget"] == 3 and set(metrics["rows"]) >= {"distilled/textcnn", "distilled-unrolled/textcnn",
                                                               "distilled/meanpool", "random/transformer"}
    report = (out / "report.md").read_text()
    assert report.count("— label:") == 3 and report.count("\n> ") == 3  # one decoded line per sequence
    # rerunning the same command reuses the finished run; a different one is refused
    assert run_cli(["condense", str(corpus_csv), "--method", "text-dd", "--per-class", "1", "--model",
                    str(model_folder), "--out", str(out), *FAST], capsys)[0] == 0
    code, _, err = run_cli(["condense", str(corpus_csv), "--method", "text-dd", "--per-class", "2", "--model",
                            str(model_folder), "--out", str(out), *FAST], capsys)
    assert code == 2 and "holds a different run" in err


def test_condense_text_bad_input(tmp_path, corpus_csv, model_folder, capsys):
    common = ["--model", str(model_folder), "--out", str(tmp_path / "r"), *FAST]
    cases = [(["--per-class", "50", *common], "fewer than per_class"),
             (["--method", "gcond", "--per-class", "1", *common], "--method text-dd"),
             (["--per-class", "1", "--model", str(tmp_path), "--out", str(tmp_path / "r2"), *FAST],
              "neither tokenizer.json nor vocab.txt")]
    for extra, message in cases:
        method = [] if "--method" in extra else ["--method", "text-dd"]
        code, _, err = run_cli(["condense", str(corpus_csv), *method, *extra], capsys)
        assert code == 2 and message in err, err


def test_budget_presets_apply_unless_overridden(tmp_path, corpus_csv, model_folder, capsys, monkeypatch):
    from graphdistill.text import run as text_run

    assert text_run.text_preset("bbc", 10) == {"texture": 0.3}  # the shipped BBC preset
    assert text_run.text_preset("bbc", 1) == {} and text_run.text_preset("data/other.csv", 10) == {}
    monkeypatch.setattr(text_run, "text_preset", lambda dataset, per_class: {"texture": 0.5})
    fast = [*FAST, "--hp", "iterations=0"]
    for extra, expected in (([], 0.5), (["--hp", "texture=0"], 0.0)):
        out = tmp_path / f"run-{expected}"
        code, _, _ = run_cli(["condense", str(corpus_csv), "--method", "text-dd", "--per-class", "1", "--model",
                              str(model_folder), "--out", str(out), *fast, *extra], capsys)
        assert code == 0
        assert json.loads((out / "config.json").read_text())["identity"]["config"]["texture"] == expected
