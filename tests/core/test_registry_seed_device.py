import pytest
import torch

from graphdistill.core.device import resolve_device
from graphdistill.core.distributed import reduce_real
from graphdistill.core.errors import UserError
from graphdistill.core.registry import Registry
from graphdistill.core.seed import derive_seed


def test_registry_lookup_and_suggestion():
    reg = Registry("widget")
    reg.register("kcenter")(object)
    assert reg.get("KCenter") is object and "kcenter" in reg
    with pytest.raises(UserError, match="unknown widget 'kcentre'.*Did you mean 'kcenter'"):
        reg.get("kcentre")
    with pytest.raises(ValueError, match="twice"):
        reg.register("kcenter")(int)


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(0, "eval", 1) == derive_seed(0, "eval", 1)
    seeds = {derive_seed(s, "eval", i) for s in range(5) for i in range(20)}
    assert len(seeds) == 100


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            resolve_device("cuda")


def test_reduce_real_is_identity_in_one_process():
    t = torch.arange(4.0)
    assert reduce_real(t) is t
    with pytest.raises(ValueError):
        reduce_real(t, op="max")
