"""Recommender-data distillation: Distill-CF, ∞-AE, EASE, ranking metrics, interaction data.

Example::

    from recsys import DistillCF, load_interactions
    data = load_interactions("ml-100k")
    users = DistillCF(n_users=200).fit(data)
"""

from recsys.condense import USER_CONDENSERS, HeadUsers, RandomUsers, UserCondenser
from recsys.data import Interactions, from_frame, read_atomic, read_grouplens, read_table
from recsys.datasets import load_interactions
from recsys.distill_cf import DistillCF, DistillCFConfig
from recsys.distilled import DistilledUsers
from recsys.learners import EASE, LEARNERS, InfiniteAE, evaluate_on_test, fit_on_validation
from recsys.metrics import inverse_propensity, ranking_metrics

__all__ = ["USER_CONDENSERS", "DistillCF", "DistillCFConfig", "DistilledUsers", "EASE", "HeadUsers", "InfiniteAE",
           "Interactions", "LEARNERS", "RandomUsers", "UserCondenser", "fit_on_validation", "from_frame",
           "inverse_propensity", "load_interactions", "ranking_metrics", "read_atomic", "read_grouplens",
           "read_table", "evaluate_on_test"]
