"""TNRMTL: trace-norm regularised deep multi-task learning (Yang & Hospedales 2017b; SPEC §2.3).

Application A (default, mirrors [C-LAB]; SPEC §7 item 1): layer 1 hard-shared as in DMTL; the
stacked heads, viewed task-last as ``W in R^{hidden x C x m}``, get a tensor trace norm:

* Tucker: ``sum_k gamma ||unfold(W, k)||_*`` over the three modes (draft eq. 3);
* TT: ``gamma (||unfold(W, 0)||_* + ||reshape(W, (hidden*C, m))||_*)`` (draft eq. 5);
* LAF: ``gamma ||unfold(W, 2)||_*`` (draft eq. 7).

The norms use ``torch.linalg.svdvals`` (sub-gradient ``U V^T``, SPEC §2.3).
"""
from __future__ import annotations

from torch import Tensor

from .base import DEFAULT_REG, check_reg
from .dmtl import DMTL
from .tensor import TRACE_NORMS, tensor_trace_norms

__all__ = ["TNRMTL"]

_REDUCTIONS = ("sum", "mean")


class TNRMTL(DMTL):
    """DMTL plus a tensor trace norm on the stacked heads, added through ``regularizer()``.

    Args:
        in_dim, n_tasks, out_dim, hidden, reg: as :class:`DMTL`.
        norm: ``"tucker"``, ``"tt"`` or ``"laf"``.
        gamma: weight of each nuclear-norm term (default 0.01, the authors' draft experiments).
        reduction: ``"sum"`` of the weighted terms (draft) or ``"mean"`` over them ([C-LAB]).
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
                 norm: str = "tucker", gamma: float = 0.01, reduction: str = "sum",
                 reg: float = DEFAULT_REG) -> None:
        super().__init__(in_dim, n_tasks, out_dim, hidden=hidden, reg=reg)
        if norm not in TRACE_NORMS:
            raise KeyError(f"unknown trace norm {norm!r}; valid: {', '.join(TRACE_NORMS)}")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.norm = norm
        self.gamma = check_reg("gamma", gamma)
        self.reduction = reduction

    def trace_norms(self) -> Tensor:
        """The unweighted nuclear norms of the task-last head tensor (hidden, C, m), 1-D."""
        return tensor_trace_norms(self.head_weight.permute(2, 1, 0), self.norm)

    def trace_norm(self) -> Tensor:
        """gamma times the sum (or mean) of :meth:`trace_norms`: the coupling term R_model."""
        norms = self.trace_norms()
        return self.gamma * (norms.sum() if self.reduction == "sum" else norms.mean())

    def regularizer(self) -> Tensor:
        return self.reg * self.penalty() + self.trace_norm()

    def extra_repr(self) -> str:
        return super().extra_repr() + f", norm={self.norm!r}, gamma={self.gamma:g}, reduction={self.reduction!r}"
