"""DS — the direct sum ``J = sum_i L_i`` (paper problem (1)); every weight is 1."""
from __future__ import annotations

import torch

from .base import Balancer

__all__ = ["DS"]


class DS(Balancer):
    """Direct sum: ``J = sum_i L_i``, weights ``(1, ..., 1)`` (LibMTL's ``EW``).

    Args:
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "ds"

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        return losses.sum()

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(losses)
