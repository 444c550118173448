import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdistill.core.budget import Budget, allocate_per_class
from graphdistill.core.errors import UserError

CORA_TRAIN = torch.arange(7).repeat_interleave(20)  # the public split: 20 per class


def test_cora_budgets_match_gcond_allocation():
    assert allocate_per_class(CORA_TRAIN, 35).tolist() == [5] * 7
    assert allocate_per_class(CORA_TRAIN, 70).tolist() == [10] * 7
    assert allocate_per_class(CORA_TRAIN, 140).tolist() == [20] * 7


def test_proportional_with_remainder_to_largest_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    # r = 0.13: floor gives 6, 3, 2 = 11; the largest class takes the 2 left over.
    assert allocate_per_class(labels, 13).tolist() == [8, 3, 2]


def test_tiny_budget_gives_one_per_class_and_largest_gives_back():
    labels = torch.tensor([0] * 90 + [1] * 5 + [2] * 5)
    assert allocate_per_class(labels, 3).tolist() == [1, 1, 1]
    assert allocate_per_class(labels, 4).tolist() == [2, 1, 1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=8), st.data())
def test_allocation_invariants(sizes, data):
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    total = data.draw(st.integers(len(sizes), sum(sizes)))
    alloc = allocate_per_class(labels, total)
    assert int(alloc.sum()) == total
    assert (alloc >= 1).all() and (alloc <= torch.tensor(sizes)).all()


def test_budget_smaller_than_classes_is_refused():
    with pytest.raises(UserError, match="at least one synthetic item"):
        allocate_per_class(CORA_TRAIN, 6)


@pytest.mark.parametrize("kwargs, message", [
    ({"budget": 0}, "positive"),
    ({"budget": -3}, "positive"),
    ({"budget": 141}, "exceeds the 140 training"),
    ({"ratio": 1.5}, r"\(0, 1\]"),
    ({"ratio": 0.0}, r"\(0, 1\]"),
    ({"ratio": 0.001}, "rounds to 0"),
    ({}, "exactly one"),
    ({"budget": 10, "ratio": 0.5}, "exactly one"),
    ({"ratio": 0.5, "ratio_of": "test"}, "ratio_of"),
])
def test_bad_budgets_raise_one_line_errors(kwargs, message):
    with pytest.raises(UserError, match=message) as info:
        Budget.resolve(n_train=140, n_full=2708, **kwargs)
    assert "\n" not in str(info.value)


def test_ratio_bases_and_description():
    of_train = Budget.resolve(n_train=140, n_full=2708, ratio=0.5)
    of_full = Budget.resolve(n_train=140, n_full=2708, ratio=0.026, ratio_of="full")
    assert of_train.size == 70 and of_full.size == 70
    assert of_train.describe() == (
        "70 nodes = 50.0% of 140 training nodes = 2.58% of all 2708 nodes")
    # r = 1 (GCond's largest Cora budget) keeps every training node and is allowed.
    assert Budget.resolve(n_train=140, n_full=2708, budget=140).ratio_of_train == 1.0
