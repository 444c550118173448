import torch

from graphdistill.core.cache import cached_tensor, fingerprint


def test_cache_hit_miss_and_corrupt_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHDISTILL_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return torch.arange(3.0)

    key = {"what": "x", "graph": fingerprint(torch.ones(2))}
    assert torch.equal(cached_tensor(key, compute), torch.arange(3.0))
    assert torch.equal(cached_tensor(key, compute), torch.arange(3.0))
    assert len(calls) == 1
    for entry in (tmp_path / "artifacts").iterdir():
        entry.write_bytes(b"garbage")
    cached_tensor(key, compute)
    assert len(calls) == 2


def test_fingerprint_sees_values_shapes_and_dtypes():
    a = torch.zeros(4)
    assert fingerprint(a) == fingerprint(torch.zeros(4))
    assert len({fingerprint(a), fingerprint(torch.zeros(2, 2)), fingerprint(a.double()),
                fingerprint(torch.tensor([0.0, 0, 0, 1]))}) == 4
