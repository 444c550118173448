"""Recommender-data distillation (planned: Distill-CF, ∞-AE, EASE; see the recsys issue)."""
