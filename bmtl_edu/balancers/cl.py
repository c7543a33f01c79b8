"""CL — self-paced task curriculum (Murugesan & Carbonell 2017; paper eq. (4))."""
from __future__ import annotations

import torch

from .base import Balancer, check_positive

__all__ = ["CL"]


class CL(Balancer):
    """Self-paced weights ``tau = softmax(-L / T_cl)``, held constant: ``J = sum_i tau_i L_i``.

    ``tau`` solves ``min_{tau in simplex} sum_i tau_i L_i + T_cl sum_i tau_i ln tau_i``
    (SPEC §3.5): easier (lower-loss) tasks get more weight, the opposite of BMTL. ``tau`` is
    detached (alternating minimisation), so ``dJ/dL = tau``.

    Default ``T = 50``: the paper does not state its CL temperature (SPEC §7.4); we reuse
    BMTL's ``T = 50`` so that the two differ only in the sign of the exponent. With
    losses of a few nats this makes CL close to (a rescaled) direct sum; ``T = 1`` gives
    a strongly easy-first curriculum.

    Args:
        T: temperature ``T_cl`` > 0 (larger: more uniform).
        scale_to_m: multiply ``tau`` by ``m`` so the weights sum to ``m`` like DS/DWA
            (default: they sum to 1, the simplex).
        anneal_factor: ``T_cl`` is multiplied by it at each :meth:`end_epoch` (> 1 admits
            harder tasks over time, the self-paced schedule); 1 (default) turns it off.
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "cl"
    _param_names = ("T", "scale_to_m", "anneal_factor", "n_tasks")

    def __init__(self, T: float = 50.0, scale_to_m: bool = False, anneal_factor: float = 1.0,
                 n_tasks: int | None = None):
        super().__init__(n_tasks)
        self.T = check_positive("cl", "T", T)
        if not isinstance(scale_to_m, bool):
            raise ValueError(f"cl: scale_to_m must be True or False, got {scale_to_m!r}")
        self.scale_to_m = scale_to_m
        self.anneal_factor = check_positive("cl", "anneal_factor", anneal_factor)
        self.current_T = self.T

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        tau = torch.softmax(-losses.detach() / self.current_T, dim=0)
        return tau * losses.shape[0] if self.scale_to_m else tau

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        return (self._weights(losses) * losses).sum()

    def end_epoch(self, epoch_mean_losses: torch.Tensor) -> None:
        super().end_epoch(epoch_mean_losses)
        self.current_T *= self.anneal_factor

    def _state(self) -> dict:
        return {"current_T": self.current_T}

    def _load_state(self, state: dict) -> None:
        self.current_T = check_positive("cl", "current_T", state["current_T"])
