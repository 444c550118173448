import os

import pytest
import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.errors import UserError
from graphdistill.core.io import (
    atomic_open,
    carried_rows,
    leftover_partials,
    read_json,
    write_json,
    write_rows_keeping_earlier,
)


def test_failed_write_leaves_old_file_and_no_partial(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write('{"a": 2, "trunc')
            raise RuntimeError("killed mid-write")
    assert read_json(target) == {"a": 1}
    assert leftover_partials(tmp_path) == []


def test_checkpoint_round_trip_without_pickled_code(tmp_path):
    ckpt = Checkpoint(tmp_path / "c.pt")
    assert ckpt.load() is None
    state = {"runs": [{"seed": 3, "val": 0.5}], "emb": torch.randn(4, 3)}
    ckpt.save(state)
    back = ckpt.load()
    assert back["runs"] == state["runs"] and torch.equal(back["emb"], state["emb"])
    ckpt.remove()
    assert not ckpt.exists()


def test_corrupt_checkpoint_is_a_user_error(tmp_path):
    (tmp_path / "c.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="delete it"):
        Checkpoint(tmp_path / "c.pt").load()


def test_malicious_pickle_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    torch.save({"x": Evil()}, tmp_path / "c.pt")
    with pytest.raises(UserError):
        Checkpoint(tmp_path / "c.pt").load()
    assert not (tmp_path / "pwned").exists()


def test_carried_rows_keeps_only_cells_not_measured_again_and_marks_them():
    previous = [{"cell": "a", "acc": 1.0}, {"cell": "b", "acc": 2.0},
                {"cell": "c", "acc": 3.0, "carried_from": "older.json"}]
    kept = carried_rows(previous, {"a"}, "cell", "results.json")
    assert [r["cell"] for r in kept] == ["b", "c"]
    assert kept[0]["carried_from"] == "results.json"
    assert kept[1]["carried_from"] == "older.json"  # the first source is kept
    assert "carried_from" not in previous[1]  # the input rows are not modified


def test_write_rows_keeping_earlier_merges_with_the_file(tmp_path):
    path = tmp_path / "results.json"
    write_rows_keeping_earlier(path, [{"folder": "b", "x": 1}, {"folder": "a", "x": 2}], "folder")
    written = write_rows_keeping_earlier(path, [{"folder": "c", "x": 3}, {"folder": "a", "x": 4}], "folder")
    assert [(r["folder"], r["x"]) for r in written] == [("a", 4), ("b", 1), ("c", 3)]
    assert read_json(path) == written and written[1]["carried_from"] == "results.json"
    assert "carried_from" not in written[0]
