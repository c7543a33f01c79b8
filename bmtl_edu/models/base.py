"""``MultiTaskNet``: the contract every multi-task model of the book follows (CONTRIBUTING.md).

A model maps an input batch of one task to that task's outputs and tells the trainer and the
balancers which parameters are shared (``shared_parameters``, needed by MGDA), which belong to
one task (``task_parameters``), and what it adds to the objective outside the balancing
(``regularizer`` = lambda * r(Theta) + the model's coupling term, SPEC §1).
"""
from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

__all__ = ["MultiTaskNet", "DEFAULT_REG", "check_sizes", "check_reg", "frobenius_sq", "init_stacked_"]

#: lambda of lambda * r(Theta). The paper does not state it (SPEC §5, §7 item 4: OPEN); a small
#: value keeps r(Theta) a mild weight decay that does not compete with the balanced losses.
DEFAULT_REG = 1e-4


def check_sizes(**sizes: int) -> None:
    """Raise a ``ValueError`` naming the first size that is not a positive int."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_reg(name: str, value: float) -> float:
    """A finite, non-negative regularisation weight, or a ``ValueError`` naming it."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative float, got {value!r}") from None
    if not value >= 0.0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite non-negative float, got {value!r}")
    return value


class MultiTaskNet(nn.Module):
    """Base class: ``forward(x, task) = head(features(x, task), task)``.

    Args:
        in_dim: input dimension d (4096 for fc7 features, 21 for SARCOS).
        n_tasks: number of tasks m.
        out_dim: outputs per task (C classes, or 1 for a regression task).
        reg: lambda, weight of the Frobenius regulariser r(Theta) (SPEC §2.1).

    Subclasses implement ``features``, ``head``, ``shared_parameters``, ``task_parameters``
    and ``penalty`` (r(Theta), unweighted); they may extend ``regularizer`` with a coupling term
    and ``on_step_end`` with state updates.

    ``task_specific_features`` is False when the representation is shared (``features`` ignores
    its ``task`` argument, so the trainer may compute it once for tasks that share inputs); a
    model whose first layer is per task (DMTRL with ``layers="both"``) sets it True and needs
    ``task``.
    """

    #: True when ``features(x, task)`` depends on ``task`` (per-task first layer).
    task_specific_features: bool = False

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, reg: float = DEFAULT_REG) -> None:
        super().__init__()
        check_sizes(in_dim=in_dim, n_tasks=n_tasks, out_dim=out_dim)
        self.in_dim = int(in_dim)
        self.n_tasks = int(n_tasks)
        self.out_dim = int(out_dim)
        self.reg = check_reg("reg", reg)

    # -- the contract -------------------------------------------------------------------------
    def features(self, x: Tensor, task: int | None = None) -> Tensor:
        """Representation Z of a batch ``x`` (B, in_dim) -> (B, hidden).

        ``task`` is ignored by models with a shared representation and required by those with
        ``task_specific_features``.
        """
        raise NotImplementedError

    def head(self, z: Tensor, task: int) -> Tensor:
        """Task ``task``'s output for representations ``z`` (B, hidden) -> (B, out_dim)."""
        raise NotImplementedError

    def forward(self, x: Tensor, task: int) -> Tensor:
        """Outputs of task ``task`` for ``x`` (B, in_dim): (B, out_dim), also for regression."""
        self.check_input(x)
        task = self.check_task(task)
        return self.head(self.features(x, task), task)

    def shared_parameters(self) -> list[nn.Parameter]:
        """theta^sh: the parameters every task's loss depends on (MGDA's gradient space)."""
        raise NotImplementedError

    def task_parameters(self, t: int) -> list[nn.Parameter]:
        """theta^t: parameters holding task t's own weights (whole tensors; other rows may be other tasks')."""
        raise NotImplementedError

    def penalty(self) -> Tensor:
        """r(Theta), unweighted: squared Frobenius norms of the weights, biases excluded (SPEC §1)."""
        raise NotImplementedError

    def regularizer(self) -> Tensor:
        """lambda * r(Theta) + coupling term; added to the objective with weight 1, unbalanced."""
        return self.reg * self.penalty()

    def on_step_end(self, step: int) -> None:
        """Called by the trainer after each optimiser step; ``step`` is the 0-based step index."""

    # -- helpers ------------------------------------------------------------------------------
    def check_task(self, task: int) -> int:
        """``task`` as an int in [0, n_tasks), or a ``ValueError`` naming the valid range."""
        if isinstance(task, Tensor) and task.numel() == 1:
            task = int(task.item())
        if isinstance(task, bool) or not isinstance(task, numbers.Integral) or not 0 <= task < self.n_tasks:
            raise ValueError(f"task must be an int in [0, {self.n_tasks}), got {task!r}")
        return int(task)

    def check_input(self, x: Tensor) -> None:
        """A clear ``ValueError`` for a batch that is not a float (B, in_dim) tensor."""
        if not isinstance(x, Tensor):
            raise ValueError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (B, {self.in_dim}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"x must be a floating-point tensor, got dtype {x.dtype}")

    def n_parameters(self) -> int:
        """Number of scalar parameters."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, n_tasks={self.n_tasks}, out_dim={self.out_dim}, reg={self.reg:g}"


def frobenius_sq(*tensors: Tensor) -> Tensor:
    """Sum of squared Frobenius norms of ``tensors`` (a scalar on their device)."""
    return sum((t.pow(2).sum() for t in tensors[1:]), tensors[0].pow(2).sum())


def default_linear_bound(fan_in: int) -> float:
    """Bound of PyTorch's default ``nn.Linear`` init: Kaiming-uniform(a=sqrt 5) gives U(+-1/sqrt(fan_in))."""
    return 1.0 / fan_in ** 0.5


def init_stacked_(weight: Tensor, bias: Tensor | None, fan_in: int) -> None:
    """Default-Linear init of stacked per-task weights (m, out, fan_in) and biases (m, out) (SPEC §2.1).

    ``nn.init.kaiming_uniform_`` would read fan_in from the wrong axis of a 3-D tensor, so the
    equivalent uniform bound is applied directly.
    """
    bound = default_linear_bound(fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound)
        if bias is not None:
            bias.uniform_(-bound, bound)
