"""Max — minimax MTL (Mehta et al. 2012; paper problem (3)): ``J = max_i L_i``."""
from __future__ import annotations

import torch

from .base import Balancer

__all__ = ["Max"]


class Max(Balancer):
    """``J = max_i L_i``; its (sub-)gradient is that of the worst task alone.

    Ties go to the **lowest index** (SPEC §3.3): ``J`` is computed by indexing
    ``losses[argmax]`` (``torch.argmax`` returns the first maximal index), because
    ``torch.max``/``amax`` over a full reduction would split the gradient evenly.
    Weights are one-hot and sum to 1.

    Args:
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "max"

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        return losses[torch.argmax(losses.detach())]

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        w = torch.zeros_like(losses)
        w[torch.argmax(losses)] = 1.0
        return w
