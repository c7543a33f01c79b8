"""BMTL — Balanced Multi-Task Learning (Liang & Zhang 2020, problem (8))."""
from __future__ import annotations

import torch

from ..transforms import Exp, Transform
from .base import Balancer

__all__ = ["BMTL"]


class BMTL(Balancer):
    """``J = sum_i h(L_i)`` with a convex increasing ``h`` (paper problem (8)).

    The gradient is ``sum_i h'(L_i) grad L_i`` (problem (9)): task ``i`` gets the weight
    ``h'(L_i)``, larger for harder tasks. With the default ``h = Exp(T=50)`` the weights
    are ``exp(L_i/T)/T``, whose normalised form is ``softmax(L/T)``; the direction equals
    that of ``T logsumexp(L/T)``, exactly ``grad J = (S/T) grad[T logsumexp(L/T)]`` with
    ``S = sum_i exp(L_i/T)`` (SPEC §3.7).

    Overflow: when some ``L_i / T > 88.72`` (``exp`` overflows float32), or for any ``h``
    when ``h(L_i)`` is not finite, a ValueError asks to standardise the targets or raise
    ``T``; values are never clamped (that would change the gradient).

    Args:
        h: the transformation, a :class:`~bmtl_edu.transforms.Transform` (default ``Exp(50)``).
        T: shorthand for ``h=Exp(T)``, the paper's temperature (Sec. 3.2; T = 50 in Sec. 4.1).
        rescale: **deviation from the paper**, off by default: multiply ``J`` by ``h.T`` so
            the weights are ``exp(L_i/T)`` (about 1 each, the direct sum's scale) instead of
            about ``1/T``, which keeps the balance against the regulariser ``r`` as under DS.
            Needs an ``h`` with a temperature ``T``.
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "bmtl"
    _param_names = ("h", "rescale", "n_tasks")

    def __init__(self, h: Transform | None = None, rescale: bool = False, n_tasks: int | None = None,
                 *, T: float | None = None):
        super().__init__(n_tasks)
        if T is not None and h is not None:
            raise ValueError("bmtl: give either h or its temperature T, not both")
        if T is None:
            h = Exp(50.0) if h is None else h
        else:
            h = Exp(T)
        if not isinstance(h, Transform):
            raise ValueError(f"bmtl: h must be a bmtl_edu.transforms.Transform (Exp, Polynomial, "
                             f"Identity, ...), got {type(h).__name__}")
        if not isinstance(rescale, bool):
            raise ValueError(f"bmtl: rescale must be True or False, got {rescale!r}")
        if rescale and not hasattr(h, "T"):
            raise ValueError(f"bmtl: rescale=True multiplies by the temperature T, but {h!r} has none")
        self.h = h
        self.rescale = rescale
        self._scale = float(h.T) if rescale else 1.0

    def state_dict(self) -> dict:
        """As :meth:`Balancer.state_dict`, with ``h`` stored as a JSON dict."""
        d = super().state_dict()
        d["params"]["h"] = self.h.to_dict()
        return d

    def load_state_dict(self, d: dict) -> None:
        params = d.get("params", {}) if isinstance(d, dict) else {}
        if isinstance(params.get("h"), dict):
            d = {**d, "params": {**params, "h": Transform.from_dict(params["h"])}}
        super().load_state_dict(d)

    def _extra_ok(self, losses: torch.Tensor) -> torch.Tensor:
        ok = torch.isfinite(self.h(losses)).all()
        limit = self.h.overflow_threshold
        if limit != float("inf"):
            ok = ok & (losses <= limit).all()
        return ok

    def _extra_message(self, losses: torch.Tensor) -> str | None:
        msg = self.h.overflow_message(losses)
        if msg is not None:
            return msg
        values = self.h(losses)
        bad = (~torch.isfinite(values)).nonzero().flatten().tolist()
        if bad:
            return (f"bmtl: h(L) is not finite for task {bad[0]} (loss {float(losses[bad[0]]):.4g}, "
                    f"h = {self.h!r}); standardise the targets or choose a gentler h")
        return None

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        J = self.h(losses).sum()
        return J * self._scale if self.rescale else J

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        w = self.h.derivative(losses.detach())
        return w * self._scale if self.rescale else w
