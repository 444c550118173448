"""Ranking metrics against rankings computed by hand."""

import math

import pytest
import torch

from recsys.metrics import evaluate_scores, inverse_propensity, ranking_metrics

# 2 users, 6 items. User 0 ranks items 5 > 4 > 3 > 2 > 1 > 0, has seen item 5, targets {3, 0}.
# User 1 ranks 0 > 1 > ... > 5, has seen nothing, targets {1}. User 2 has no target (skipped).
SCORES = torch.tensor([[0., 1, 2, 3, 4, 5], [5., 4, 3, 2, 1, 0], [1., 2, 3, 4, 5, 6]])
TARGETS = torch.tensor([[1., 0, 0, 1, 0, 0], [0., 1, 0, 0, 0, 0], [0., 0, 0, 0, 0, 0]])
SEEN = torch.tensor([[0., 0, 0, 0, 0, 1], [0., 0, 0, 0, 0, 0], [1., 0, 0, 0, 0, 0]])


def test_hr_and_ndcg_by_hand():
    m = ranking_metrics(SCORES, TARGETS, SEEN, ks=(2, 5))
    # user 0, masked ranking 4, 3, 2, 1, 0: target 3 at rank 2, target 0 at rank 5
    # user 1: target 1 at rank 2
    hr2 = (1 / 2 + 1 / 1) / 2
    hr5 = (2 / 2 + 1 / 1) / 2
    d = [1 / math.log2(r + 1) for r in range(1, 6)]
    ndcg2 = ((d[1]) / (d[0] + d[1]) + d[1] / d[0]) / 2
    ndcg5 = ((d[1] + d[4]) / (d[0] + d[1]) + d[1] / d[0]) / 2
    assert m["HR@2"] == pytest.approx(100 * hr2)
    assert m["HR@5"] == pytest.approx(100 * hr5)
    assert m["nDCG@2"] == pytest.approx(100 * ndcg2)
    assert m["nDCG@5"] == pytest.approx(100 * ndcg5)


def test_psp_and_auc_by_hand():
    weights = torch.tensor([4.0, 1.0, 1.0, 2.0, 1.0, 1.0])
    negatives = torch.tensor([[1, 2], [0, 5], [1, 2]])
    m = ranking_metrics(SCORES, TARGETS, SEEN, ks=(2,), weights=weights, negatives=negatives)
    # user 0: hit item 3 (w 2) in top-2; best possible = 4 + 2. user 1: hit item 1 (w 1) of best 1.
    assert m["PSP@2"] == pytest.approx(100 * (2 / 6 + 1) / 2)
    # user 0: target 3 (score 3) beats negatives 1, 2; target 0 (score 0) beats none -> 2/4.
    # user 1: target 1 (score 4) beats item 5 (0), loses to item 0 (5) -> 1/2.
    assert m["AUC"] == pytest.approx((0.5 + 0.5) / 2)


def test_ties_count_half_in_auc_and_batches_agree():
    scores = torch.tensor([[1.0, 1.0, 0.0]])
    m = ranking_metrics(scores, torch.tensor([[1.0, 0, 0]]), torch.zeros(1, 3), ks=(1,),
                        negatives=torch.tensor([[1, 2]]))
    assert m["AUC"] == pytest.approx(0.75)
    torch.manual_seed(0)
    scores, targets = torch.randn(50, 30), (torch.rand(50, 30) < 0.2).float()
    seen = (torch.rand(50, 30) < 0.2).float() * (1 - targets)
    whole = ranking_metrics(scores, targets, seen, ks=(5, 10))
    batched = evaluate_scores(lambda rows: rows, scores, targets, seen, ks=(5, 10), batch=7)
    assert batched == pytest.approx(whole)


def test_inverse_propensity_is_high_for_rare_items():
    w = inverse_propensity([0, 10, 1000], num_interactions=10_000)
    assert w[0] > w[1] > w[2] > 1.0
    c = (math.log(10_000) - 1) * 2.5 ** 0.55
    assert float(w[1]) == pytest.approx(1 + c * 11.5 ** -0.55)
