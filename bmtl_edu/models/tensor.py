"""Tensor algebra for the tensor-based multi-task models (SPEC §2.0, §2.2, §2.3).

Conventions (SPEC §0.3, §2.0): axes are 0-based, every reshape is row-major (C order), and
stacked per-task weights put the task axis **last**: ``W`` of shape ``(D1, ..., D_{N-1}, m)``.

* ``unfold(A, k)`` moves axis ``k`` to the front and reshapes to ``(D_k, prod of the others)``.
* ``mode_product(A, U, k)`` contracts axis ``k`` of ``A`` with the *second* index of ``U``.
* Tucker: ``W = G x_1 U_1 x_2 U_2 ... x_N U_N``; TT: cores ``(r_{k-1}, D_k, r_k)`` with
  ``r_0 = r_N = 1``; LAF (last-axis flattening): ``unfold(W, N-1).T = L @ S`` with ``L`` of shape
  ``(prod D_{1..N-1}, K)`` and ``S`` of shape ``(K, m)``.
* Ranks are chosen by ``eps_or_k`` as in the DMTRL toolbox (SPEC §2.2): a float in (0, 1) is a
  relative-error target, ``rank(eps) = #{k : sigma_k > eps * sigma_1}``; an int >= 1 is the rank.
* Nuclear norms use ``torch.linalg.svdvals``, whose gradient ``U V^T`` is numerically stable;
  gradients never flow through the singular vectors of a full SVD.

This module imports nothing else from the package (it sits at the bottom of the layers).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor

EpsOrK = Union[float, int]

__all__ = [
    "unfold", "fold", "mode_product", "tucker_to_tensor", "tt_to_tensor", "laf_to_tensor",
    "select_rank", "truncated_svd", "hosvd", "tt_svd", "laf_svd", "nuclear_norm",
    "tensor_trace_norms", "TRACE_NORMS",
]

TRACE_NORMS = ("tucker", "tt", "laf")


def _check_tensor(A: Tensor, name: str, min_dim: int = 1) -> None:
    if not isinstance(A, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
    if A.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} axes, got shape {tuple(A.shape)}")


def _check_axis(k: int, ndim: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or not -ndim <= k < ndim:
        raise ValueError(f"axis {k!r} is out of range for a tensor with {ndim} axes")
    return k % ndim


def unfold(A: Tensor, k: int) -> Tensor:
    """Mode-``k`` unfolding: ``(D_k, prod_{j != k} D_j)``, row-major (SPEC §2.0).

    For ``A`` of shape ``(D1, D2, D3)``: ``unfold(A, 0)[a, b*D3 + c] = A[a, b, c]``,
    ``unfold(A, 1)[b, a*D3 + c]`` and ``unfold(A, 2)[c, a*D2 + b]``.
    """
    _check_tensor(A, "A")
    k = _check_axis(k, A.dim())
    return torch.movedim(A, k, 0).reshape(A.shape[k], -1)


def fold(M: Tensor, k: int, shape: Sequence[int]) -> Tensor:
    """Inverse of :func:`unfold`: the tensor of ``shape`` whose mode-``k`` unfolding is ``M``."""
    shape = tuple(int(s) for s in shape)
    k = _check_axis(k, len(shape))
    moved = (shape[k],) + shape[:k] + shape[k + 1:]
    if M.dim() != 2 or M.shape[0] != shape[k] or M.numel() != math.prod(shape):
        raise ValueError(f"cannot fold a matrix of shape {tuple(M.shape)} into {shape} along axis {k}")
    return torch.movedim(M.reshape(moved), 0, k)


def mode_product(A: Tensor, U: Tensor, k: int) -> Tensor:
    """Mode-``k`` product ``A x_k U`` with ``U`` of shape ``(J, D_k)``; axis ``k`` becomes ``J``."""
    _check_tensor(A, "A")
    k = _check_axis(k, A.dim())
    if U.dim() != 2 or U.shape[1] != A.shape[k]:
        raise ValueError(f"mode-{k} product needs U of shape (J, {A.shape[k]}), got {tuple(U.shape)}")
    return torch.movedim(torch.tensordot(A, U, dims=([k], [1])), -1, k)


def tucker_to_tensor(core: Tensor, factors: Sequence[Tensor]) -> Tensor:
    """Tucker reconstruction ``core x_1 U_1 ... x_N U_N`` (SPEC §2.2).

    Args:
        core: ``(K_1, ..., K_N)``.
        factors: ``U_k`` of shape ``(D_k, K_k)``.
    Returns:
        ``(D_1, ..., D_N)``.
    """
    if len(factors) != core.dim():
        raise ValueError(f"a core with {core.dim()} axes needs {core.dim()} factors, got {len(factors)}")
    out = core
    for k, U in enumerate(factors):
        out = mode_product(out, U, k)
    return out


def tt_to_tensor(cores: Sequence[Tensor]) -> Tensor:
    """Tensor-train contraction of cores ``(r_{k-1}, D_k, r_k)`` with ``r_0 = r_N = 1`` (SPEC §2.0).

    Returns:
        ``(D_1, ..., D_N)``.
    """
    if len(cores) == 0:
        raise ValueError("tt_to_tensor needs at least one core")
    for i, G in enumerate(cores):
        if G.dim() != 3:
            raise ValueError(f"TT core {i} must have 3 axes (r_prev, D, r_next), got {tuple(G.shape)}")
    if cores[0].shape[0] != 1 or cores[-1].shape[2] != 1:
        raise ValueError("the first TT core must have r_0 = 1 and the last r_N = 1")
    out = cores[0].reshape(cores[0].shape[1], cores[0].shape[2])  # (D1, r1)
    dims = [cores[0].shape[1]]
    for i, G in enumerate(cores[1:], start=1):
        if G.shape[0] != out.shape[-1]:
            raise ValueError(f"TT core {i} has r_prev={G.shape[0]}, expected {out.shape[-1]}")
        out = out @ G.reshape(G.shape[0], -1)  # (prod D, D_i * r_i)
        dims.append(G.shape[1])
        out = out.reshape(-1, G.shape[2])
    return out.reshape(dims)


def laf_to_tensor(L: Tensor, S: Tensor, shape: Sequence[int]) -> Tensor:
    """Last-axis-flattening reconstruction: ``W[..., t] = reshape(L @ S[:, t], shape[:-1])``.

    Args:
        L: ``(prod(shape[:-1]), K)`` shared factor.
        S: ``(K, m)``; column ``t`` is task ``t``'s factor.
        shape: ``(D_1, ..., D_{N-1}, m)``.
    """
    shape = tuple(int(s) for s in shape)
    if L.dim() != 2 or S.dim() != 2 or L.shape[1] != S.shape[0] or \
            L.shape[0] != math.prod(shape[:-1]) or S.shape[1] != shape[-1]:
        raise ValueError(f"LAF factors of shapes {tuple(L.shape)} and {tuple(S.shape)} "
                         f"do not match the tensor shape {shape}")
    return (L @ S).reshape(shape)


def select_rank(s: Tensor, eps_or_k: EpsOrK, max_rank: int | None = None, what: str = "rank") -> int:
    """The rank kept from singular values ``s`` (descending) under the DMTRL rule (SPEC §2.2).

    A float ``eps`` in (0, 1) keeps ``#{k : s_k > eps * s_1}`` (at least 1); an int ``k >= 1``
    keeps ``k``, which must not exceed ``max_rank`` (default ``len(s)``), as the authors' toolbox
    raises in that case.
    """
    max_rank = len(s) if max_rank is None else int(max_rank)
    if isinstance(eps_or_k, bool):
        raise ValueError(f"{what}: eps_or_k must be a float in (0, 1) or an int >= 1, got {eps_or_k!r}")
    if isinstance(eps_or_k, int):
        if not 1 <= eps_or_k <= max_rank:
            raise ValueError(f"{what}: requested rank {eps_or_k} is outside [1, {max_rank}]")
        return eps_or_k
    if isinstance(eps_or_k, float):
        if not 0.0 < eps_or_k < 1.0 or math.isnan(eps_or_k):
            raise ValueError(f"{what}: a float eps_or_k must lie in (0, 1) (relative error), got {eps_or_k}")
        if s.numel() == 0 or not bool(s[0] > 0):
            return 1
        kept = int((s > eps_or_k * s[0]).sum().item())
        return max(1, min(kept, max_rank))
    raise ValueError(f"{what}: eps_or_k must be a float in (0, 1) or an int >= 1, got {eps_or_k!r}")


def truncated_svd(M: Tensor, eps_or_k: EpsOrK, max_rank: int | None = None,
                  what: str = "rank") -> tuple[Tensor, Tensor, Tensor]:
    """Thin SVD of ``M`` truncated by :func:`select_rank`: ``M ~ U diag(s) Vh``.

    Returns ``U (p, r)``, ``s (r,)``, ``Vh (r, q)``. ``max_rank`` (if given) further caps an
    eps-selected rank and bounds an explicit one.
    """
    _check_tensor(M, "M", 2)
    if M.dim() != 2:
        raise ValueError(f"truncated_svd needs a matrix, got shape {tuple(M.shape)}")
    if not torch.isfinite(M).all():
        raise ValueError("truncated_svd: the matrix contains NaN or inf")
    U, s, Vh = torch.linalg.svd(M, full_matrices=False)
    cap = len(s) if max_rank is None else min(len(s), int(max_rank))
    if isinstance(eps_or_k, int) and not isinstance(eps_or_k, bool) and eps_or_k > len(s):
        raise ValueError(f"{what}: requested rank {eps_or_k} exceeds the maximum {len(s)} "
                         f"of a {tuple(M.shape)} matrix")
    r = select_rank(s, eps_or_k, cap, what)
    return U[:, :r], s[:r], Vh[:r]


def _per_mode(eps_or_k: EpsOrK | Sequence[EpsOrK], n: int, what: str) -> list[EpsOrK]:
    if isinstance(eps_or_k, (int, float)):
        return [eps_or_k] * n
    vals = list(eps_or_k)
    if len(vals) != n:
        raise ValueError(f"{what}: expected {n} ranks/eps values, got {len(vals)}")
    return vals


def hosvd(W: Tensor, eps_or_k: EpsOrK | Sequence[EpsOrK],
          max_ranks: Sequence[int | None] | None = None) -> tuple[Tensor, list[Tensor]]:
    """Truncated higher-order SVD (the DMTRL Tucker initialisation, SPEC §2.2).

    ``U_k`` = leading left singular vectors of ``unfold(W, k)``; ``core = W x_k U_k^T`` for all k.

    Args:
        W: ``(D_1, ..., D_N)``.
        eps_or_k: one value for every mode or one per mode.
        max_ranks: optional per-mode caps (``None`` entries: no cap).
    Returns:
        ``core (K_1, ..., K_N)`` and factors ``U_k (D_k, K_k)``.
    """
    _check_tensor(W, "W", 2)
    per = _per_mode(eps_or_k, W.dim(), "hosvd")
    caps = list(max_ranks) if max_ranks is not None else [None] * W.dim()
    factors = []
    for k in range(W.dim()):
        U, _, _ = truncated_svd(unfold(W, k), per[k], caps[k], what=f"Tucker mode {k}")
        factors.append(U)
    core = W
    for k, U in enumerate(factors):
        core = mode_product(core, U.T, k)
    return core, factors


def tt_svd(W: Tensor, eps_or_k: EpsOrK | Sequence[EpsOrK],
           max_ranks: Sequence[int | None] | None = None) -> list[Tensor]:
    """TT-SVD (the DMTRL TT initialisation, SPEC §2.2): cores ``(r_{k-1}, D_k, r_k)``.

    Args:
        W: ``(D_1, ..., D_N)``.
        eps_or_k: for the ``N-1`` internal ranks, one value or one per rank.
        max_ranks: optional caps per internal rank.
    """
    _check_tensor(W, "W", 2)
    dims = list(W.shape)
    n = len(dims)
    per = _per_mode(eps_or_k, n - 1, "tt_svd")
    caps = list(max_ranks) if max_ranks is not None else [None] * (n - 1)
    cores = []
    r_prev = 1
    C = W.reshape(dims[0], -1)
    for k in range(n - 1):
        C = C.reshape(r_prev * dims[k], -1)
        U, s, Vh = truncated_svd(C, per[k], caps[k], what=f"TT rank {k + 1}")
        r = U.shape[1]
        cores.append(U.reshape(r_prev, dims[k], r))
        C = s[:, None] * Vh
        r_prev = r
    cores.append(C.reshape(r_prev, dims[-1], 1))
    return cores


def laf_svd(W: Tensor, eps_or_k: EpsOrK, max_rank: int | None = None) -> tuple[Tensor, Tensor]:
    """LAF initialisation (SPEC §2.2): ``unfold(W, -1).T ~ L @ S`` by truncated SVD.

    Returns ``L = U (prod D_{1..N-1}, K)`` and ``S = diag(s) V^T (K, m)``.
    """
    _check_tensor(W, "W", 2)
    M = unfold(W, W.dim() - 1).T
    U, s, Vh = truncated_svd(M, eps_or_k, max_rank, what="LAF rank")
    return U, s[:, None] * Vh


def nuclear_norm(X: Tensor) -> Tensor:
    """``||X||_*`` = sum of singular values, via ``svdvals`` (stable sub-gradient ``U V^T``)."""
    _check_tensor(X, "X", 2)
    if X.dim() != 2:
        raise ValueError(f"nuclear_norm needs a matrix, got shape {tuple(X.shape)}")
    return torch.linalg.svdvals(X).sum()


def tensor_trace_norms(W: Tensor, method: str) -> Tensor:
    """The matrix nuclear norms a tensor trace norm sums (SPEC §2.3; task axis last).

    * ``"tucker"``: ``||unfold(W, k)||_*`` for every mode ``k`` (N terms);
    * ``"tt"``: ``||reshape(W, (D_1...D_k, D_{k+1}...D_N))||_*`` for ``k = 1..N-1`` (N-1 terms);
    * ``"laf"``: ``||unfold(W, N-1)||_*`` (the task mode; 1 term).

    Returns:
        1-D tensor of the norms (unweighted), like the authors' ``TensorTraceNorm``.
    """
    _check_tensor(W, "W", 2)
    if method not in TRACE_NORMS:
        raise KeyError(f"unknown trace norm {method!r}; valid: {', '.join(TRACE_NORMS)}")
    if method == "tucker":
        mats = [unfold(W, k) for k in range(W.dim())]
    elif method == "tt":
        dims = W.shape
        mats = [W.reshape(math.prod(dims[:k]), -1) for k in range(1, W.dim())]
    else:
        mats = [unfold(W, W.dim() - 1)]
    return torch.stack([nuclear_norm(M) for M in mats])
