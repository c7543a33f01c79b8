"""MRN: multilinear relationship networks (Long et al. 2017; SPEC §2.4), "MRN-lite".

Application A (SPEC §7 item 1): layer 1 hard-shared; the stacked heads ``W`` (m, C, hidden) get a
tensor-normal prior ``vec(W) ~ N(0, Sigma_T (x) Sigma_C (x) Sigma_H)``. With precisions
``Omega_k = Sigma_k^{-1}`` (held fixed within a step) the coupling term is

    R_MRN(W) = vec(W)^T (Omega_T (x) Omega_C (x) Omega_H) vec(W)
             = sum_{t,s} Omega_T[t,s] tr(W_t^T Omega_C W_s Omega_H)          (row-major vec)

and every ``update_every`` steps the precisions get a flip-flop MLE update, e.g.
``Sigma_T = unfold(W, T) (Omega_C (x) Omega_H) unfold(W, T)^T / (C*hidden) + eps I``,
``Omega_T = Sigma_T^{-1}`` rescaled to trace m. By default only ``Omega_T`` is updated, as in
the released code; ``update_class``/``update_feature`` add the other modes.

``code_compat=True`` reproduces the released code (thuml/MTlearn HEAD, SPEC §2.4): no
``1/(C*hidden)`` factor, absolute ``1e-5 I``, singular values ``s -> 1/s`` only when ``s > 0.1``
(sic), trace capped at 3000; only ``Omega_T`` is updated.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .base import DEFAULT_REG, check_reg, check_sizes
from .dmtl import DMTL
from .tensor import mode_product, unfold

__all__ = ["MRN", "mrn_penalty", "mode_scatter"]


def mrn_penalty(W: Tensor, omega_task: Tensor, omega_class: Tensor | None = None,
                omega_feature: Tensor | None = None) -> Tensor:
    """``sum_{t,s} Omega_T[t,s] tr(W_t^T Omega_C W_s Omega_H)`` for W (m, C, H) (SPEC §2.4, §6.5).

    ``None`` precisions stand for identities (and skip a matmul). Precisions must be symmetric.
    """
    V = mode_product(W, omega_task, 0)
    if omega_class is not None:
        V = mode_product(V, omega_class, 1)
    if omega_feature is not None:
        V = mode_product(V, omega_feature, 2)
    return (W * V).sum()


def mode_scatter(W: Tensor, mode: int, omegas: list[Tensor | None]) -> Tensor:
    """``unfold(W, mode) (kron of the other precisions) unfold(W, mode)^T``, unnormalised.

    ``omegas[k]`` is mode k's precision or ``None`` for an identity; ``omegas[mode]`` is ignored.
    Returns a symmetric PSD matrix of shape (D_mode, D_mode).
    """
    V = W
    for k, om in enumerate(omegas):
        if k != mode and om is not None:
            V = mode_product(V, om, k)
    S = unfold(W, mode) @ unfold(V, mode).T
    return (S + S.T) / 2


class MRN(DMTL):
    """DMTL with a tensor-normal prior on the stacked heads (SPEC §2.4).

    Args:
        in_dim, n_tasks, out_dim, hidden, reg: as :class:`DMTL`.
        mrn_weight: weight of R_MRN in ``regularizer()`` (default 1, the released code's
            ``trade_off``; OPEN for BMTL, SPEC §7 item 4).
        update_every: K, precisions are updated after every K-th step (default 100, code HEAD).
        update_class, update_feature: also update Omega_C / Omega_H (off, as in the code).
        eps: ridge added to each covariance, relative to its mean diagonal (clean mode).
        feature_eps: the same for the hidden x hidden covariance, whose rank is at most m*C and
            which needs more conditioning (package choice).
        code_compat: reproduce the released code's Omega_T update (see module docstring).

    Buffers ``omega_task`` (m, m), ``omega_class`` (C, C), ``omega_feature`` (H, H) start at
    identity (so R_MRN = ||W||_F^2 at first) and are part of ``state_dict()``.
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
                 mrn_weight: float = 1.0, update_every: int = 100, update_class: bool = False,
                 update_feature: bool = False, eps: float = 1e-5, feature_eps: float = 0.1,
                 code_compat: bool = False, reg: float = DEFAULT_REG) -> None:
        super().__init__(in_dim, n_tasks, out_dim, hidden=hidden, reg=reg)
        check_sizes(update_every=update_every)
        if code_compat and (update_class or update_feature):
            raise ValueError("code_compat=True reproduces the released code, which updates only "
                             "the task precision: set update_class=update_feature=False")
        self.mrn_weight = check_reg("mrn_weight", mrn_weight)
        self.update_every = update_every
        self.update_class = bool(update_class)
        self.update_feature = bool(update_feature)
        self.eps = check_reg("eps", eps)
        self.feature_eps = check_reg("feature_eps", feature_eps)
        self.code_compat = bool(code_compat)
        like = self.head_weight
        self.register_buffer("omega_task", torch.eye(n_tasks, dtype=like.dtype, device=like.device))
        self.register_buffer("omega_class", torch.eye(out_dim, dtype=like.dtype, device=like.device))
        self.register_buffer("omega_feature", torch.eye(hidden, dtype=like.dtype, device=like.device))

    def _omegas(self) -> list[Tensor | None]:
        # Modes that are never updated stay identities: skip their matmuls.
        return [self.omega_task,
                self.omega_class if self.update_class else None,
                self.omega_feature if self.update_feature else None]

    def mrn_penalty(self) -> Tensor:
        """R_MRN of the current heads with the current (fixed) precisions."""
        return mrn_penalty(self.head_weight, *self._omegas())

    def regularizer(self) -> Tensor:
        return self.reg * self.penalty() + self.mrn_weight * self.mrn_penalty()

    def on_step_end(self, step: int) -> None:
        """Update the precisions after every ``update_every``-th step (0-based ``step``)."""
        if (int(step) + 1) % self.update_every == 0:
            self.update_precisions()

    @torch.no_grad()
    def update_precisions(self) -> None:
        """One flip-flop pass: task, then (if enabled) class, then feature precision."""
        W = self.head_weight.detach()
        if not torch.isfinite(W).all():
            raise ValueError("MRN precision update: the head weights contain NaN or inf")
        if self.code_compat:
            self._update_code_compat(W)
            return
        modes = [0] + ([1] if self.update_class else []) + ([2] if self.update_feature else [])
        buffers = {0: self.omega_task, 1: self.omega_class, 2: self.omega_feature}
        for k in modes:
            S = mode_scatter(W, k, self._omegas()) / (W.numel() / W.shape[k])
            ridge = self.feature_eps if k == 2 else self.eps
            scale = S.diagonal().mean().clamp_min(torch.finfo(S.dtype).tiny)
            S = S + ridge * scale * torch.eye(S.shape[0], dtype=S.dtype, device=S.device)
            omega = torch.linalg.inv(S)
            omega = (omega + omega.T) / 2
            buffers[k].copy_(omega * (S.shape[0] / omega.trace()))

    def _update_code_compat(self, W: Tensor) -> None:
        S = mode_scatter(W, 0, [None, None, None])
        S = S + 1e-5 * torch.eye(S.shape[0], dtype=S.dtype, device=S.device)
        U, s, Vh = torch.linalg.svd(S)
        s = torch.where(s > 0.1, 1.0 / s, s)  # the released code's select_func (sic)
        omega = U @ torch.diag(s) @ Vh
        tr = omega.trace()
        if tr > 3000.0:
            omega = omega * (3000.0 / tr)
        self.omega_task.copy_(omega)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", mrn_weight={self.mrn_weight:g}, update_every={self.update_every}, "
                f"code_compat={self.code_compat}")
