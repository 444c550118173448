"""Recommenders with closed-form training, fitted on real or synthetic users.

* **∞-AE** (Sachdeva, Dhaliwal, Wu & McAuley, NeurIPS 2022): an infinitely wide one-hidden-layer
  ReLU autoencoder, i.e. kernel ridge regression with its NTK
  (:func:`graphdistill.core.kernels.relu_ntk`) from user rows to the same rows:
  scores(u) = K(u, S) (K(S, S) + λ·tr(K)/|S|·I)⁻¹ S for support users S.
* **EASE** (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): the item-item
  B minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0: P = (XᵀX + λI)⁻¹, B = −P / diag(P) (columns),
  diag(B) = 0; scores(u) = u B.

Both are trained by ``fit(support)``; :func:`fit_on_validation` picks λ on validation HR@100 as
Distill-CF does, and :func:`evaluate_on_test` scores the test items with train + validation as the
users' context.

Example::

    learner, report = fit_on_validation("infinite-ae", data.dense("train"), data)
    evaluate_on_test(learner, data)["nDCG@10"]
"""

from __future__ import annotations

import torch

from graphdistill.core.errors import UserError
from graphdistill.core.kernels import relu_ntk, ridge_solve
from graphdistill.core.registry import Registry
from recsys.data import Interactions
from recsys.metrics import evaluate_scores, inverse_propensity

LEARNERS: Registry[type] = Registry("recommender")
SELECTION_METRIC = "HR@100"


@LEARNERS.register("infinite-ae")
class InfiniteAE:
    """∞-AE: NTK kernel ridge regression from user rows to user rows.

    Args:
        lam: trace-normalised ridge λ; depth: hidden ReLU layers of the autoencoder (1).
    """

    lam_grid = (1e-5, 1e-3, 0.1, 1.0, 5.0, 50.0)  # Distill-CF's grid

    def __init__(self, lam: float = 1.0, depth: int = 1) -> None:
        self.lam, self.depth = lam, depth

    def fit(self, support: torch.Tensor) -> InfiniteAE:
        """``support``: (n_support, n_items) user rows (binary or in [0, 1])."""
        self.support = support.double()
        self._gram = relu_ntk(self.support, depth=self.depth)
        self.alpha = ridge_solve(self._gram, self.support, self.lam)
        return self

    def with_lam(self, lam: float) -> InfiniteAE:
        """The same support refitted with another λ, reusing its kernel matrix."""
        other = InfiniteAE(lam, self.depth)
        other.support, other._gram = self.support, self._gram
        other.alpha = ridge_solve(self._gram, self.support, lam)
        return other

    def scores(self, context: torch.Tensor) -> torch.Tensor:
        """(n_users, n_items) scores of users given as their (n_users, n_items) context rows."""
        return relu_ntk(context.to(self.support), self.support, depth=self.depth) @ self.alpha


@LEARNERS.register("ease")
class EASE:
    """EASE: closed-form item-item autoencoder with a zero diagonal (Steck, WWW 2019)."""

    lam_grid = (1.0, 10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)

    def __init__(self, lam: float = 500.0) -> None:
        self.lam = lam

    def fit(self, support: torch.Tensor) -> EASE:
        self.support = support.double()
        n_users, n_items = self.support.shape
        # Fewer users than items (always for synthetic users): the Woodbury identity
        # (XᵀX + λI)⁻¹ = (I − Xᵀ(XXᵀ + λI)⁻¹X)/λ needs a users × users solve, not items × items.
        self._gram = self.support @ self.support.t() if n_users < n_items else self.support.t() @ self.support
        self.weights = self._solve(self.lam)
        return self

    def with_lam(self, lam: float) -> EASE:
        other = EASE(lam)
        other.support, other._gram = self.support, self._gram
        other.weights = other._solve(lam)
        return other

    def _solve(self, lam: float) -> torch.Tensor:
        if lam <= 0:
            raise UserError(f"EASE λ must be > 0, got {lam}")
        x, gram = self.support, self._gram
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        factor = torch.linalg.cholesky(gram + lam * eye)
        if gram.shape[0] == x.shape[0]:  # users × users
            precision = -x.t() @ torch.cholesky_solve(x, factor)
            precision.diagonal().add_(1.0)
            precision /= lam
        else:
            precision = torch.cholesky_inverse(factor)
        weights = precision / (-torch.diagonal(precision))[None, :]
        weights.fill_diagonal_(0.0)
        return weights

    def scores(self, context: torch.Tensor) -> torch.Tensor:
        return context.to(self.weights) @ self.weights


def evaluation_tensors(data: Interactions, part: str, device: torch.device | str = "cpu", *,
                       ranking_only: bool = False) -> dict:
    """Context, targets, masked items, propensities and negatives of ``part`` ("val" or "test");
    ``ranking_only`` leaves out PSP and AUC (for frequent validation, which selects on HR@100)."""
    if part not in ("val", "test"):
        raise UserError(f"part must be 'val' or 'test', got {part!r}")
    context = data.dense("train" if part == "val" else "train+val", device)
    tensors = {"context": context, "targets": data.dense(part, device), "seen": context,
               "weights": None, "negatives": None}
    if not ranking_only:
        tensors["weights"] = inverse_propensity(data.item_popularity(), data.num_train_interactions)
        tensors["negatives"] = torch.as_tensor(data.negatives, device=device)
    return tensors


def learner_metrics(learner, tensors: dict) -> dict[str, float]:
    return evaluate_scores(learner.scores, tensors["context"], tensors["targets"], tensors["seen"],
                           weights=tensors["weights"], negatives=tensors["negatives"])


def fit_on_validation(name: str, support: torch.Tensor, data: Interactions, *, val: dict | None = None,
                      lam_grid: tuple[float, ...] | None = None, metric: str = SELECTION_METRIC, **kwargs):
    """Fit learner ``name`` on ``support`` for every λ of its grid; keep the best validation
    ``metric`` (HR@100, as Distill-CF). Returns (fitted learner, {"lam", "val": metrics of the kept
    λ, "grid": metric per λ})."""
    cls = LEARNERS.get(name)
    if support.dim() != 2 or support.shape[1] != data.n_items:
        raise UserError(f"support must be (users, {data.n_items}), got {tuple(support.shape)}")
    if not torch.isfinite(support).all():
        raise UserError("support rows contain NaN or infinite values")
    val = val if val is not None else evaluation_tensors(data, "val", support.device)
    grid = lam_grid or cls.lam_grid
    base = cls(grid[0], **kwargs).fit(support)
    best, best_metrics, scanned = None, None, {}
    for lam in grid:
        learner = base if lam == grid[0] else base.with_lam(lam)
        metrics = learner_metrics(learner, val)
        if metric not in metrics:
            raise UserError(f"unknown selection metric {metric!r}; choose one of {sorted(metrics)}")
        scanned[lam] = metrics[metric]
        if best_metrics is None or metrics[metric] > best_metrics[metric]:
            best, best_metrics = learner, metrics
    return best, {"lam": best.lam, "val": best_metrics, "grid": scanned}


def evaluate_on_test(learner, data: Interactions, *, test: dict | None = None) -> dict[str, float]:
    """Test metrics of a fitted learner: context train + validation, both masked."""
    device = getattr(learner, "support", getattr(learner, "weights", None)).device
    return learner_metrics(learner, test if test is not None else evaluation_tensors(data, "test", device))
