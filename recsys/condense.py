"""User condensation methods: a registry, the shared front end and the real-user baselines.

Every method is ``Method(n_users=m, seed=0, device="auto", **hyper).fit(data)`` →
:class:`~recsys.distilled.DistilledUsers`; ``fit`` checks the budget and the data before any
work. Baselines at the same budget (Distill-CF, Table 3's samplers): ``random`` real users and
``head`` users (the m most active in training).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config
from graphdistill.core.device import resolve_device
from graphdistill.core.errors import UserError
from graphdistill.core.registry import Registry
from graphdistill.core.seed import derive_seed
from recsys.data import Interactions
from recsys.distilled import DistilledUsers

USER_CONDENSERS: Registry[type] = Registry("user condensation method")


def user_condenser(name: str):
    """Register a :class:`UserCondenser` subclass under ``name``."""

    def decorate(cls):
        cls.name = name
        return USER_CONDENSERS.register(name)(cls)

    return decorate


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """Methods without hyper-parameters."""


class UserCondenser:
    """Front end shared by the methods: budget, seed, device and hyper-parameter checks."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = NoConfig

    def __init__(self, n_users: int, *, seed: int = 0, device: str | torch.device = "auto", **hyper: Any) -> None:
        if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)) or n_users < 1:
            raise UserError(f"n_users must be a positive number of synthetic users, got {n_users!r}")
        self.n_users, self.seed = int(n_users), seed
        self.device = resolve_device(device)
        self.config = build_config(self.Config, hyper, owner=self.name or type(self).__name__)

    def check(self, data: Interactions) -> None:
        """Refuse impossible budgets before any work."""
        if self.n_users > data.n_users:
            raise UserError(f"{self.n_users} synthetic users requested but {data.name} has only "
                            f"{data.n_users} users; choose at most {data.n_users}")

    def fit(self, data: Interactions, *, checkpoint: Checkpoint | None = None, log=print) -> DistilledUsers:
        self.check(data)
        result = self.condense(data, checkpoint=checkpoint, log=log)
        result.meta.update(method=self.name, n_users=self.n_users, seed=self.seed, dataset=data.name,
                           config=dataclasses.asdict(self.config))
        return result

    def condense(self, data: Interactions, *, checkpoint: Checkpoint | None, log) -> DistilledUsers:
        raise NotImplementedError


@user_condenser("random")
class RandomUsers(UserCondenser):
    """``n_users`` real users drawn uniformly without replacement (their training rows)."""

    def condense(self, data, *, checkpoint=None, log=print) -> DistilledUsers:
        rng = np.random.default_rng(derive_seed(self.seed, "random-users"))
        picked = np.sort(rng.choice(data.n_users, self.n_users, replace=False))
        return DistilledUsers(torch.as_tensor(data.train[picked].toarray(), dtype=torch.float32),
                              meta={"users": picked.tolist()})


@user_condenser("head")
class HeadUsers(UserCondenser):
    """The ``n_users`` users with the most training interactions (ties: lower index first)."""

    def condense(self, data, *, checkpoint=None, log=print) -> DistilledUsers:
        activity = data.train.getnnz(1)
        picked = np.sort(np.argsort(-activity, kind="stable")[: self.n_users])
        return DistilledUsers(torch.as_tensor(data.train[picked].toarray(), dtype=torch.float32),
                              meta={"users": picked.tolist()})
