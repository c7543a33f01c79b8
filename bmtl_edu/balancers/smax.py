"""sMAX — the soft maximum ``J = T logsumexp(L / T)`` (paper Sec. 3.3 and 4.2, T = 1)."""
from __future__ import annotations

import torch

from .base import Balancer, check_positive

__all__ = ["SMax"]


class SMax(Balancer):
    """Soft maximum: ``J = T * log(sum_i exp(L_i / T))``; weights ``softmax(L / T)``.

    The paper's sMAX is ``ln sum_i exp(L_i)``, i.e. ``T = 1`` (the default). The value lies
    in ``[max L, max L + T ln m]``; weights sum to 1. With ``T`` equal to BMTL's
    temperature its gradient has the direction of BMTL's (SPEC §3.7).

    Args:
        T: temperature, > 0 (paper: 1).
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "smax"
    _param_names = ("T", "n_tasks")

    def __init__(self, T: float = 1.0, n_tasks: int | None = None):
        super().__init__(n_tasks)
        self.T = check_positive("smax", "T", T)

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        return self.T * torch.logsumexp(losses / self.T, dim=0)

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        return torch.softmax(losses / self.T, dim=0)
