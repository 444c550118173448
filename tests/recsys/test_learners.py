"""∞-AE and EASE against direct solves; λ selection on validation."""

import numpy as np
import pytest
import torch

from graphdistill.core.errors import UserError
from graphdistill.core.kernels import relu_ntk
from recsys.learners import EASE, InfiniteAE, evaluate_on_test, fit_on_validation


def test_infinite_ae_is_ntk_kernel_ridge():
    torch.manual_seed(0)
    support, context = (torch.rand(25, 40) < 0.2).double(), (torch.rand(6, 40) < 0.2).double()
    k = relu_ntk(support).numpy()
    for lam in (1e-3, 1.0):
        alpha = np.linalg.solve(k + lam * np.trace(k) / 25 * np.eye(25), support.numpy())
        expected = relu_ntk(context, support).numpy() @ alpha
        model = InfiniteAE(lam).fit(support)
        assert np.allclose(model.scores(context).numpy(), expected, atol=1e-8)
        assert np.allclose(InfiniteAE(5.0).fit(support).with_lam(lam).scores(context).numpy(), expected, atol=1e-8)


@pytest.mark.parametrize("users", [20, 300])  # fewer users than items (Woodbury) and more
def test_ease_matches_the_closed_form(users):
    torch.manual_seed(0)
    x = (torch.rand(users, 60) < 0.15).double()
    p = np.linalg.inv(x.numpy().T @ x.numpy() + 7.0 * np.eye(60))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    model = EASE(7.0).fit(x)
    assert np.allclose(model.weights.numpy(), b, atol=1e-10)
    assert np.allclose(EASE(1.0).fit(x).with_lam(7.0).weights.numpy(), b, atol=1e-10)
    assert np.allclose(np.diag(model.weights.numpy()), 0.0)


def test_lambda_is_chosen_on_validation(ml100k):
    train = ml100k.dense("train")
    learner, report = fit_on_validation("infinite-ae", train[:100], ml100k, lam_grid=(1e-5, 1.0))
    assert report["lam"] == max(report["grid"], key=report["grid"].get)
    assert learner.lam == report["lam"]
    test = evaluate_on_test(learner, ml100k)
    assert 20 < test["nDCG@10"] < 40 and 0.8 < test["AUC"] < 1.0
    with pytest.raises(UserError, match="support"):
        fit_on_validation("ease", train[:, :10], ml100k)
    with pytest.raises(UserError, match="NaN"):
        fit_on_validation("ease", torch.full_like(train[:5], float("nan")), ml100k)
    with pytest.raises(UserError, match="unknown recommender"):
        fit_on_validation("mf", train[:5], ml100k)
