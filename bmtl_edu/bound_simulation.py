"""A synthetic linear multi-task problem on which Theorems 4 and 5 can be checked.

The bounds of :mod:`bmtl_edu.bounds` hold for every linear predictor ``f_i(x) = <theta_i, x>``
with ``||Theta||_F <= beta`` when inputs satisfy ``||x|| <= 1`` and the loss lies in ``[0, 1]``.
This module builds such a problem (tasks differ only in their noise level, i.e. in difficulty),
trains the BMTL objective ``sum_i exp(R^_i / T)`` over the ball by projected sub-gradient descent,
and measures the true risks on a large held-out sample, so that a chapter can compare the
empirical generalisation gap with the bound in every run.

The loss is the clipped absolute error ``l(f, y) = min(1, |f - y|)``: values in [0, 1] and
1-Lipschitz in ``f`` (``rho = 1``).  Everything is NumPy, vectorised over independent trials.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bmtl_edu import bounds

RHO = 1.0  # Lipschitz constant of the clipped absolute loss


def clipped_abs_loss(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``min(1, |pred - y|)`` elementwise: in [0, 1], 1-Lipschitz in ``pred``."""
    return np.minimum(1.0, np.abs(pred - y))


def task_risks(W: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Mean clipped absolute loss per task.

    Args:
        W: weights, shape ``(..., m, d)``; X: inputs ``(..., m, n, d)``; Y: targets ``(..., m, n)``.
    Returns:
        risks, shape ``(..., m)``.
    """
    pred = _predict(W, X)
    return clipped_abs_loss(pred, Y).mean(axis=-1)


def _predict(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``<w_i, x_ij>`` for ``W (..., m, d)``, ``X (..., m, n, d)`` -> ``(..., m, n)``.

    matmul (BLAS) instead of einsum: this is the simulation's hot loop."""
    return np.matmul(X, W[..., None])[..., 0]


def project_frobenius(W: np.ndarray, beta: float) -> np.ndarray:
    """Project each ``(m, d)`` matrix in ``W`` (shape ``(..., m, d)``) onto ``||.||_F <= beta``."""
    norms = np.sqrt(np.sum(W ** 2, axis=(-2, -1), keepdims=True))
    return W * np.minimum(1.0, beta / np.maximum(norms, 1e-300))


@dataclass(frozen=True)
class LinearMTLProblem:
    """``y = <w*_i, x> + noise_i * N(0, 1)`` for task i, ``x`` uniform direction, ``||x|| in [r_min, 1]``.

    Attributes:
        W_star: true task weights, shape ``(m, d)``, inside the Frobenius ball of radius ``beta``.
        noise: per-task noise standard deviation, shape ``(m,)`` (the task difficulty).
        beta: radius of the hypothesis class ``||Theta||_F <= beta`` used by the bound.
        r_min: smallest input norm.
    """

    W_star: np.ndarray
    noise: np.ndarray
    beta: float = 1.0
    r_min: float = 0.5
    seed: int = field(default=0)

    @property
    def m(self) -> int:
        return int(self.W_star.shape[0])

    @property
    def d(self) -> int:
        return int(self.W_star.shape[1])

    def sample(self, n: int, rng: np.random.Generator, trials: int | None = None):
        """Draw ``n`` samples per task.

        Returns:
            ``X`` of shape ``(m, n, d)`` (or ``(trials, m, n, d)``) with ``||x|| <= 1`` and ``Y`` of
            shape ``(m, n)`` (or ``(trials, m, n)``).
        """
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        lead = (self.m, int(n)) if trials is None else (int(trials), self.m, int(n))
        g = rng.standard_normal(lead + (self.d,))
        radius = rng.uniform(self.r_min, 1.0, size=lead + (1,))
        X = g / np.linalg.norm(g, axis=-1, keepdims=True) * radius
        clean = np.einsum("md,...mnd->...mn", self.W_star, X)
        Y = clean + self.noise[:, None] * rng.standard_normal(lead)
        return X, Y


def make_linear_problem(m: int = 32, d: int = 8, noise: tuple[float, float] = (0.02, 0.3),
                        beta: float = 1.0, signal: float = 0.9, seed: int = 0) -> LinearMTLProblem:
    """A problem with ``m`` tasks whose noise grows linearly from ``noise[0]`` to ``noise[1]``.

    Args:
        m: tasks (>= 1); d: input dimension (>= 1).
        noise: (smallest, largest) noise standard deviation, both >= 0.
        beta: Frobenius radius of the hypothesis class (> 0).
        signal: ``||W*||_F / beta`` in (0, 1], so the truth lies in the class.
        seed: RNG seed for ``W*``.
    """
    if int(m) < 1 or int(d) < 1:
        raise ValueError(f"m and d must be >= 1, got m={m}, d={d}")
    lo, hi = noise
    if lo < 0 or hi < lo:
        raise ValueError(f"noise must be (low, high) with 0 <= low <= high, got {noise}")
    if beta <= 0 or not 0 < signal <= 1:
        raise ValueError(f"need beta > 0 and signal in (0, 1], got beta={beta}, signal={signal}")
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((int(m), int(d)))
    W *= signal * beta / np.linalg.norm(W)
    return LinearMTLProblem(W_star=W, noise=np.linspace(lo, hi, int(m)), beta=float(beta),
                            seed=int(seed))


def fit_bmtl_linear(X: np.ndarray, Y: np.ndarray, T: float, beta: float, steps: int = 100,
                    lr: float = 0.5) -> np.ndarray:
    """Minimise ``sum_i exp(R^_i / T)`` over ``||Theta||_F <= beta`` (problem (10) of the paper)
    by projected sub-gradient descent, starting from 0, with step ``lr / sqrt(k + 1)``.

    The gradient ``(1/T) e^{R^_i/T} grad R^_i`` is multiplied by ``T`` so that one learning
    rate serves every temperature (only the relative task weights ``e^{R^_i/T}`` matter).

    Args:
        X: ``(..., m, n, d)``; Y: ``(..., m, n)``; T: temperature > 0; beta: radius > 0.
    Returns:
        W of shape ``(..., m, d)``.
    """
    bounds.nu(T)  # validates T
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    n = X.shape[-2]
    W = np.zeros(X.shape[:-2] + (X.shape[-1],))
    for k in range(int(steps)):
        resid = _predict(W, X) - Y
        active = (np.abs(resid) < 1.0) * np.sign(resid)          # sub-gradient of min(1, |r|)
        risks = np.minimum(1.0, np.abs(resid)).mean(axis=-1)
        weight = np.exp(risks / T)                                # T * h'(R^_i)
        grad = weight[..., None] * np.matmul(active[..., None, :], X)[..., 0, :] / n
        W = project_frobenius(W - lr / np.sqrt(k + 1.0) * grad, beta)
    return W


def simulate_gaps(problem: LinearMTLProblem, n0_grid, T_grid, trials: int, delta: float = 0.05,
                  n_test: int = 10_000, steps: int = 100, seed: int = 0) -> dict:
    """Train on ``n0`` samples per task for every ``(n0, T)`` and ``trials`` independent training
    sets; measure true risks on one held-out sample of ``n_test`` per task.

    Returns a dict of NumPy arrays indexed ``[i_n0, i_T, trial]`` (risk vectors get a last axis m):
    ``train_risks``, ``true_risks`` (m-vectors), ``Rh_hat``, ``Rh_true`` (transformed risks),
    ``thm5_paper``, ``thm5_tight`` (Theorem-5 right-hand sides), ``thm4_paper``, ``thm4_tight``
    (Theorem 4 with the Theorem-5 complexity bound ``Rad <= beta/sqrt(m)`` or its tight version),
    ``mean_true``, ``mean_train``; plus ``n0_grid``, ``T_grid``, ``delta``.
    """
    n0_grid = [int(v) for v in n0_grid]
    T_grid = [float(v) for v in T_grid]
    if trials < 1 or not n0_grid or not T_grid:
        raise ValueError("need trials >= 1 and non-empty n0_grid and T_grid")
    bounds.confidence_term(T_grid[0], problem.m, n0_grid[0], delta)  # validates delta
    rng = np.random.default_rng(seed)
    X_test, Y_test = problem.sample(n_test, rng)
    m, beta = problem.m, problem.beta
    # Task-level Rademacher terms implied by Theorem 5: paper Rad_f <= beta/sqrt(m); tight
    # Rad_l <= sqrt(2) rho beta / sqrt(m) (vector contraction).
    rad_paper = beta / np.sqrt(m)
    rad_tight = np.sqrt(2.0) * RHO * beta / np.sqrt(m)
    shape = (len(n0_grid), len(T_grid), int(trials))
    out = {k: np.zeros(shape) for k in ("Rh_hat", "Rh_true", "thm5_paper", "thm5_tight",
                                        "thm4_paper", "thm4_tight", "mean_true", "mean_train")}
    out["train_risks"] = np.zeros(shape + (m,))
    out["true_risks"] = np.zeros(shape + (m,))
    for a, n0 in enumerate(n0_grid):
        X, Y = problem.sample(n0, rng, trials=trials)
        for b, T in enumerate(T_grid):
            W = fit_bmtl_linear(X, Y, T, beta, steps=steps)
            r_hat = task_risks(W, X, Y)                                   # (trials, m)
            r_true = task_risks(W, X_test, Y_test)                        # (trials, m)
            out["train_risks"][a, b] = r_hat
            out["true_risks"][a, b] = r_true
            out["Rh_hat"][a, b] = bounds.transformed_risk(r_hat, T)
            out["Rh_true"][a, b] = bounds.transformed_risk(r_true, T)
            out["thm5_paper"][a, b] = bounds.theorem5_rhs(r_hat, beta, T, n0, delta, RHO)
            out["thm5_tight"][a, b] = bounds.theorem5_rhs(r_hat, beta, T, n0, delta, RHO, tight=True)
            out["thm4_paper"][a, b] = bounds.theorem4_rhs(r_hat, rad_paper, T, n0, delta, RHO)
            out["thm4_tight"][a, b] = bounds.theorem4_rhs(r_hat, rad_tight, T, n0, delta, RHO,
                                                          tight=True)
            out["mean_true"][a, b] = r_true.mean(axis=-1)
            out["mean_train"][a, b] = r_hat.mean(axis=-1)
    out.update(n0_grid=np.array(n0_grid), T_grid=np.array(T_grid), delta=float(delta))
    return out
