"""Solvers of MGDA's min-norm problem (paper problem (6); Sener & Koltun 2018, Alg. 1-2).

Given the Gram matrix ``M_ts = g_t . g_s`` (m x m) of the task gradients, find

    alpha* = argmin_{alpha in simplex} alpha^T M alpha  ( = || sum_t alpha_t g_t ||^2 ).

Optimality (KKT) certificate: with ``f = alpha^T M alpha``, ``(M alpha)_t >= f`` for every t
(equality on the support); since ``f`` is convex, ``f(alpha) - f* <= 2 (f - min_t (M alpha)_t)``
(the Frank-Wolfe gap). All solvers work in float64 NumPy on the small Gram matrix.

* :func:`two_task` — the closed form for two vectors (Alg. 1), exact 1/0 at the boundaries.
* :func:`frank_wolfe` — the paper's Alg. 2 (uniform start, cap 250, tol 1e-5).
* :func:`projected_gradient` — the authors' code default (pair start, simplex projections).
* :func:`exact` — the default: support enumeration with the KKT certificate; exact to
  rounding for the m <= 10 tasks of MTL (badly scaled or singular Grams included).
* :func:`min_norm` — one entry point choosing among them.
"""
from __future__ import annotations

import itertools
import math

from typing import Any, Sequence, Union

import numpy as np

__all__ = ["two_task", "project_simplex", "frank_wolfe", "projected_gradient", "exact",
           "min_norm", "SOLVERS", "kkt_gap"]

#: a Gram matrix or vector as a NumPy array, a torch tensor or nested sequences
ArrayLike = Union[np.ndarray, Sequence, Any]  # Any: a torch.Tensor (not imported here)


def _as_gram(M) -> np.ndarray:
    """Validated float64 symmetric (m, m) array."""
    if hasattr(M, "detach"):  # a torch tensor
        M = M.detach().cpu().double().numpy()
    A = np.asarray(M, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ValueError(f"min-norm: the Gram matrix must be square (m, m) with m >= 1, got shape {A.shape}")
    if not np.isfinite(A).all():
        bad = np.argwhere(~np.isfinite(A))[0]
        raise ValueError(f"min-norm: the Gram matrix has a non-finite entry {A[tuple(bad)]} at {tuple(bad)} "
                         f"(a task gradient is nan/inf)")
    return 0.5 * (A + A.T)


def two_task(v11: float, v12: float, v22: float) -> tuple[float, float]:
    """Min-norm point of the segment [g1, g2]: ``gamma g1 + (1 - gamma) g2`` (paper Alg. 1).

    Args:
        v11, v12, v22: ``g1.g1``, ``g1.g2``, ``g2.g2``.

    Returns:
        ``(gamma, cost)`` with ``cost = ||gamma g1 + (1-gamma) g2||^2``. ``gamma`` is exactly
        1 when ``v12 >= v11`` and exactly 0 when ``v12 >= v22`` (the authors' code returns
        0.999 / 0.001); identical vectors take the first branch (no division by zero).
    """
    if v12 >= v11:
        return 1.0, float(v11)
    if v12 >= v22:
        return 0.0, float(v22)
    gamma = (v22 - v12) / (v11 + v22 - 2.0 * v12)
    return float(gamma), float(v22 + gamma * (v12 - v22))


def project_simplex(y: ArrayLike) -> np.ndarray:
    """Euclidean projection of ``y`` (shape (m,)) onto the probability simplex (sort algorithm)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.isfinite(y).all():
        raise ValueError(f"project_simplex: y must be a finite 1-D array, got {y!r}")
    u = np.sort(y)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.arange(1, y.size + 1)
    rho = np.nonzero(u - css / k > 0)[0][-1]
    theta = css[rho] / (rho + 1)
    return np.maximum(y - theta, 0.0)


def kkt_gap(M: ArrayLike, alpha: ArrayLike) -> float:
    """``2 (f - min_t (M alpha)_t)``: an upper bound on ``f(alpha) - f*`` for alpha in the simplex."""
    A = _as_gram(M)
    a = np.asarray(alpha, dtype=np.float64)
    Ma = A @ a
    return float(2.0 * (a @ Ma - Ma.min()))


def _pair_init(M: np.ndarray) -> np.ndarray:
    m = M.shape[0]
    best, alpha = math.inf, None
    for i, j in itertools.combinations(range(m), 2):
        gamma, cost = two_task(M[i, i], M[i, j], M[j, j])
        if cost < best:
            best = cost
            alpha = np.zeros(m)
            alpha[i], alpha[j] = gamma, 1.0 - gamma
    return alpha


def _check_iter(max_iter, tol) -> None:
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"min-norm: max_iter must be a positive integer, got {max_iter!r}")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"min-norm: tol must be a non-negative number, got {tol!r}")


def frank_wolfe(M: ArrayLike, max_iter: int = 250, tol: float = 1e-5, init: str = "uniform") -> np.ndarray:
    """Frank-Wolfe on the simplex with exact line search (paper Alg. 2).

    Each step moves towards the vertex ``e_t`` with the smallest ``(M alpha)_t`` using
    :func:`two_task` for the step; it stops when the L1 change is below ``tol`` or after
    ``max_iter`` steps. Convergence is sub-linear (SPEC §6.3): compare objectives, not alpha.

    Args:
        M: Gram matrix (m, m).
        init: ``"uniform"`` (the paper) or ``"pair"`` (the authors' code: best pair).
    Returns:
        alpha, shape (m,), in the simplex.
    """
    A = _as_gram(M)
    _check_iter(max_iter, tol)
    m = A.shape[0]
    if m == 1:
        return np.ones(1)
    if init not in ("uniform", "pair"):
        raise ValueError(f"frank_wolfe: init must be 'uniform' or 'pair', got {init!r}")
    alpha = np.full(m, 1.0 / m) if init == "uniform" else _pair_init(A)
    for _ in range(max_iter):
        Ma = A @ alpha
        t = int(np.argmin(Ma))
        gamma, _ = two_task(float(alpha @ Ma), float(Ma[t]), float(A[t, t]))
        new = gamma * alpha
        new[t] += 1.0 - gamma
        done = np.abs(new - alpha).sum() < tol
        alpha = new
        if done:
            break
    return alpha


def projected_gradient(M: ArrayLike, max_iter: int = 250, tol: float = 1e-5) -> np.ndarray:
    """Projected gradient with exact line search (the authors' ``find_min_norm_element``).

    Starts from the best pair (:func:`two_task` on every pair), then repeats: direction
    ``d = -M alpha`` centred, step to the simplex boundary, projection, two-point line
    search (SPEC §3.6 pseudo-code). The counter is incremented (the original never does).

    Returns:
        alpha, shape (m,), in the simplex.
    """
    A = _as_gram(M)
    _check_iter(max_iter, tol)
    m = A.shape[0]
    if m == 1:
        return np.ones(1)
    alpha = _pair_init(A)
    if m == 2:
        return alpha
    for _ in range(max_iter):
        d = -(A @ alpha)
        d = d - d.mean()
        steps = [(-alpha[r] / d[r]) for r in range(m) if d[r] < 0] + \
                [((1.0 - alpha[r]) / d[r]) for r in range(m) if d[r] > 0]
        steps = [s for s in steps if s > 1e-7]
        s = min(steps) if steps else 1.0
        p = project_simplex(alpha + s * d)
        gamma, _ = two_task(float(alpha @ A @ alpha), float(alpha @ A @ p), float(p @ A @ p))
        new = gamma * alpha + (1.0 - gamma) * p
        done = np.abs(new - alpha).sum() < tol
        alpha = new
        if done:
            break
    return alpha


def _solve_support(A: np.ndarray, S: tuple[int, ...], s: np.ndarray) -> np.ndarray | None:
    """Minimiser of alpha^T M alpha on the affine hull of the face S, or None if singular.

    Solves the KKT system [[M_SS, 1], [1^T, 0]] [a; mu] = [0; 1] after the symmetric scaling
    a = s * b with s_t = 1 / ||g_t|| (unit diagonal), which tames badly scaled gradients.
    """
    k = len(S)
    idx = np.asarray(S)
    sS = s[idx]
    K = np.zeros((k + 1, k + 1))
    K[:k, :k] = A[np.ix_(idx, idx)] * sS[:, None] * sS[None, :]
    K[:k, k] = sS
    K[k, :k] = sS
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        if np.linalg.cond(K) > 1e13:
            # an affinely dependent face: a smaller face holds an optimum (Caratheodory)
            return None
        x = np.linalg.solve(K, rhs)
        # one step of iterative refinement; the residual in extended precision
        r = rhs.astype(np.longdouble) - K.astype(np.longdouble) @ x.astype(np.longdouble)
        x = x + np.linalg.solve(K, r.astype(np.float64))
    except np.linalg.LinAlgError:
        return None
    a = np.zeros(A.shape[0])
    a[idx] = x[:k] * sS
    return a


def exact(M: ArrayLike, rtol: float = 1e-12) -> np.ndarray:
    """The exact min-norm point by support enumeration with a KKT certificate (default solver).

    For each candidate support S (the full set first, then single vertices, then faces of
    increasing size) it solves the equality-constrained QP on S in float64, keeps feasible
    points (alpha >= 0 up to rounding, then clipped), and stops as soon as the Frank-Wolfe
    gap ``2(f - min_t (M alpha)_t)`` certifies optimality within ``rtol`` of ``f`` (plus a
    ``rtol * max_t M_tt`` absolute floor for optima at or near 0). Otherwise the best
    feasible candidate over all ``2^m - 1`` supports is returned, which is exact because
    some affinely independent face holds an optimum. A zero gradient (``M_tt = 0``) is
    Pareto-stationary: alpha = e_t.

    Args:
        M: Gram matrix (m, m), symmetric positive semi-definite.
        rtol: relative tolerance of the certificate.
    Returns:
        alpha, shape (m,), in the simplex.
    """
    A = _as_gram(M)
    m = A.shape[0]
    if m == 1:
        return np.ones(1)
    diag = np.diag(A).copy()
    if diag.min() < -1e-12 * max(diag.max(), 0.0) or (diag < 0).all():
        raise ValueError(f"min-norm: the Gram matrix has a negative diagonal entry {diag.min()} "
                         f"(not positive semi-definite)")
    scale = float(diag.max())
    zero = np.nonzero(diag <= 1e-300 + 0.0 * scale)[0]
    if scale <= 0 or zero.size:
        alpha = np.zeros(m)
        alpha[int(zero[0]) if zero.size else 0] = 1.0
        return alpha
    s = 1.0 / np.sqrt(diag)
    floor = rtol * scale

    best_f, best = math.inf, None
    order = [tuple(range(m))] + [(t,) for t in range(m)] + [
        S for k in range(2, m) for S in itertools.combinations(range(m), k)]
    for S in order:
        if len(S) == 1:
            a = np.zeros(m)
            a[S[0]] = 1.0
        else:
            a = _solve_support(A, S, s)
            if a is None or a.min() < -1e-8:
                continue
            a = np.maximum(a, 0.0)
            a /= a.sum()
        Ma = A @ a
        f = float(a @ Ma)
        if f < best_f:
            best_f, best = f, a
            if 2.0 * (f - Ma.min()) <= rtol * max(f, 0.0) + floor:
                break
    return best


SOLVERS = {"exact": exact, "frank_wolfe": frank_wolfe, "pgd": projected_gradient}


def min_norm(M: ArrayLike, method: str = "exact", **kwargs) -> np.ndarray:
    """``argmin_{alpha in simplex} alpha^T M alpha`` with the named solver.

    Args:
        M: Gram matrix (m, m) (NumPy array or torch tensor).
        method: ``"exact"`` (default), ``"frank_wolfe"`` or ``"pgd"``.
        **kwargs: passed to the solver (``max_iter``, ``tol``, ``init``, ``rtol``).
    Returns:
        alpha, float64 array of shape (m,).
    """
    if method not in SOLVERS:
        raise KeyError(f"unknown min-norm solver {method!r}; valid: {', '.join(SOLVERS)}")
    return SOLVERS[method](M, **kwargs)
