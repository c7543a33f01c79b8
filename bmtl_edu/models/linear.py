"""Multi-task linear model ``f_i(x) = W_i x + b_i``, the model of the paper's Theorem 5."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import DEFAULT_REG, MultiTaskNet, frobenius_sq, init_stacked_

__all__ = ["MultiTaskLinear"]


class MultiTaskLinear(MultiTaskNet):
    """One linear map per task, nothing shared: ``f_t(x) = x W[t]^T + b[t]``.

    ``W`` is stacked (m, out_dim, in_dim) so that ``||W||_F`` is the ``||Theta||_F <= beta``
    constraint of Theorem 5 (SPEC §4.8). ``features`` is the identity, so ``reps`` are the inputs;
    ``shared_parameters()`` is empty. r(Theta) = ||W||_F^2.

    Args:
        in_dim, n_tasks, out_dim: d, m and outputs per task.
        reg: lambda of lambda * ||W||_F^2.
        bias: whether each task has an intercept b_t.
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int = 1, reg: float = DEFAULT_REG,
                 bias: bool = True) -> None:
        super().__init__(in_dim, n_tasks, out_dim, reg)
        self.weight = nn.Parameter(torch.empty(n_tasks, out_dim, in_dim))
        self.bias = nn.Parameter(torch.empty(n_tasks, out_dim)) if bias else None
        init_stacked_(self.weight, self.bias, in_dim)

    def features(self, x: Tensor, task: int | None = None) -> Tensor:
        return x

    def head(self, z: Tensor, task: int) -> Tensor:
        out = z @ self.weight[task].T
        return out if self.bias is None else out + self.bias[task]

    def shared_parameters(self) -> list[nn.Parameter]:
        return []

    def task_parameters(self, t: int) -> list[nn.Parameter]:
        self.check_task(t)
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def penalty(self) -> Tensor:
        return frobenius_sq(self.weight)
