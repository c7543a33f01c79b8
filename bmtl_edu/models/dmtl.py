"""DMTL: hard parameter sharing, ``d -> hidden (shared, ReLU) -> out_dim`` per task (SPEC §2.1)."""
from __future__ import annotations

from torch import Tensor, nn

from .base import DEFAULT_REG, MultiTaskNet, check_sizes, frobenius_sq, init_stacked_

__all__ = ["DMTL"]


class DMTL(MultiTaskNet):
    """Deep multi-task learning with a hard-shared first layer (Caruana 1997; SPEC §2.1).

    ``Z = relu(x W1^T + b1)`` (B, hidden); task t: ``Z W2[t]^T + b2[t]`` (B, out_dim).
    The heads are one stacked Parameter ``head_weight`` (m, out_dim, hidden), the tensor
    that TNRMTL and MRN regularise; r(Theta) = ||W1||_F^2 + sum_t ||W2_t||_F^2.

    Args:
        in_dim, n_tasks, out_dim: d, m and C (1 per task for SARCOS regression).
        hidden: width of the shared layer (paper: 600).
        reg: lambda of lambda * r(Theta) (OPEN in the paper, SPEC §7; default 1e-4).
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
                 reg: float = DEFAULT_REG) -> None:
        super().__init__(in_dim, n_tasks, out_dim, reg)
        check_sizes(hidden=hidden)
        self.hidden = int(hidden)
        self.shared = nn.Linear(in_dim, hidden)  # PyTorch default init, as [C-LAB]
        self.head_weight = nn.Parameter(self.shared.weight.new_empty(n_tasks, out_dim, hidden))
        self.head_bias = nn.Parameter(self.shared.weight.new_empty(n_tasks, out_dim))
        init_stacked_(self.head_weight, self.head_bias, hidden)

    def features(self, x: Tensor, task: int | None = None) -> Tensor:
        return self.shared(x).relu()

    def head(self, z: Tensor, task: int) -> Tensor:
        # Indexing the stacked Parameter is a view: no per-call rebuilding.
        return z @ self.head_weight[task].T + self.head_bias[task]

    def head_weights(self) -> Tensor:
        """The stacked task-specific heads (m, out_dim, hidden)."""
        return self.head_weight

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.shared.weight, self.shared.bias]

    def task_parameters(self, t: int) -> list[nn.Parameter]:
        self.check_task(t)
        return [self.head_weight, self.head_bias]

    def penalty(self) -> Tensor:
        return frobenius_sq(self.shared.weight, self.head_weight)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", hidden={self.hidden}"
