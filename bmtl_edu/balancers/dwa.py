"""DWA — Dynamic Weight Average (Liu, Johns & Davison 2019; paper Sec. 2.2; SPEC §3.2)."""
from __future__ import annotations

import math

import torch

from .base import Balancer, check_positive

__all__ = ["DWA"]


class DWA(Balancer):
    """Weights from the tasks' loss-descent rates over the two previous epochs.

    For epoch ``e`` (0-indexed): ``w = (1, ..., 1)`` when ``e`` is 0 or 1; else with
    ``r_i = Lbar_i(e-1) / Lbar_i(e-2)`` (epoch-average raw training losses, given to
    :meth:`end_epoch`), ``w_i = m softmax(r / T)_i``. The weights are constant within an
    epoch and sum to ``m``; ``J = sum_i w_i L_i``. A zero denominator is guarded by ``eps``.

    Args:
        T: temperature (default 2, the ``--temp`` of the authors' code).
        eps: guard added to the denominator ``Lbar_i(e-2)``.
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "dwa"
    _param_names = ("T", "eps", "n_tasks")

    def __init__(self, T: float = 2.0, eps: float = 1e-12, n_tasks: int | None = None):
        super().__init__(n_tasks)
        self.T = check_positive("dwa", "T", T)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"dwa: eps must be a positive number (it guards a zero loss), got {eps!r}")
        self.eps = float(eps)
        self.history: list[list[float]] = []
        self._current: torch.Tensor | None = None   # float64 CPU weights of this epoch
        self._cache: torch.Tensor | None = None     # the same on the losses' device/dtype

    @property
    def epoch(self) -> int:
        """Index of the current epoch (number of :meth:`end_epoch` calls so far)."""
        return len(self.history)

    def _recompute(self) -> None:
        self._cache = None
        if len(self.history) < 2:
            self._current = None
            return
        prev, prev2 = (torch.tensor(h, dtype=torch.float64) for h in self.history[-2:][::-1])
        r = prev / (prev2 + self.eps)
        self._current = len(prev) * torch.softmax(r / self.T, dim=0)

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        if self._current is None:
            return torch.ones_like(losses)
        if len(self._current) != losses.shape[0]:
            raise ValueError(f"dwa: the loss history has {len(self._current)} tasks but the "
                             f"losses have {losses.shape[0]}")
        c = self._cache
        if c is None or c.device != losses.device or c.dtype != losses.dtype:
            # converted once per epoch, not per step
            c = self._cache = self._current.to(device=losses.device, dtype=losses.dtype)
        return c.clone()  # callers may modify the returned weights in place

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        return (self._weights(losses) * losses).sum()

    def end_epoch(self, epoch_mean_losses: torch.Tensor) -> None:
        """Record the epoch's mean raw losses (shape (m,)); next epoch's weights follow."""
        self._check_shape(epoch_mean_losses, "epoch_mean_losses")
        vals = epoch_mean_losses.detach().to("cpu", torch.float64)
        if self.history and len(self.history[-1]) != len(vals):
            raise ValueError(f"dwa: epoch_mean_losses has {len(vals)} tasks, earlier epochs had "
                             f"{len(self.history[-1])}")
        bad = (~torch.isfinite(vals)).nonzero().flatten().tolist()
        if bad:
            raise ValueError(f"dwa: epoch mean loss of task {bad[0]} is {vals[bad[0]].item()}")
        self.history.append(vals.tolist())
        self._recompute()

    def _state(self) -> dict:
        return {"history": [list(h) for h in self.history]}

    def _load_state(self, state: dict) -> None:
        self.history = [list(map(float, h)) for h in state["history"]]
        self._recompute()
