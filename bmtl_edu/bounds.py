"""Generalisation bounds of BMTL (Liang & Zhang 2020, Sec. 3.4 and appendix), as calculators.

Setting (SPEC Sec. 4): ``m`` tasks, ``n0`` i.i.d. samples per task, a loss ``l`` with values in
``[0, 1]`` that is ``rho``-Lipschitz in the prediction, and the transformation ``h(z) = exp(z/T)``.
For task ``i``, ``R_i`` is the true risk and ``R^_i`` the empirical risk on its ``n0`` samples.
The transformed risks are ``R_h = (1/m) sum_i h(R_i)`` and ``R^_h = (1/m) sum_i h(R^_i)``.

Every bound has two forms, chosen by ``tight``:

* ``tight=False``: the constants *as printed in the paper* (Theorems 3-5): complexity term
  ``8 rho nu Rad_f`` and the bounded difference ``eta = (2/m) e^{1/T} (e^{1/(n0 T)} - 1)``.
* ``tight=True``: the re-derivation of SPEC Sec. 4.3-4.5: the exact bounded difference
  ``c_h / m`` with ``c_h = e^{1/T} (1 - e^{-1/(n0 T)})`` and complexity term ``2 nu Rad_l``,
  where ``Rad_l`` is the task-level Rademacher term over *loss values* (for a linear model in a
  Frobenius ball, ``Rad_l <= sqrt(2) rho beta / sqrt(m)`` by vector contraction).

Both forms are valid upper bounds; the tight one is about half as large.  Remark 1 of the paper
drops a square when it reads off the rate of the confidence term; :func:`remark1_confidence`
reproduces the printed (wrong) rate so that the book can plot it against the correct one.

All functions work on Python floats or NumPy arrays (broadcasting) and reject bad input with a
``ValueError`` naming the argument.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np

ArrayLike = Union[float, int, Sequence[float], np.ndarray]
#: a float for scalar inputs, an array when any input is an array (broadcast)
FloatOrArray = Union[float, np.ndarray]

# float64 exp overflows beyond this; a bound that large is meaningless anyway.
_MAX_EXPONENT = 700.0


# --------------------------------------------------------------------------- validation
def _as_array(value, name: str) -> np.ndarray:
    """A float64 array of ``value``; torch tensors are accepted on any device."""
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _out(arr: np.ndarray):
    """Return a Python float for 0-d results so that scalar calls give scalars."""
    return float(arr) if arr.ndim == 0 else arr


def _positive(value, name: str) -> np.ndarray:
    arr = _as_array(value, name)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return arr


def _count(value, name: str) -> np.ndarray:
    arr = _positive(value, name)
    if np.any(arr < 1) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be a positive integer (count), got {value!r}")
    return arr


def _temperature(T) -> np.ndarray:
    arr = _positive(T, "T")
    if np.any(1.0 / arr > _MAX_EXPONENT):
        raise ValueError(f"T={T!r} is too small: exp(1/T) overflows float64 (need T > {1/_MAX_EXPONENT:.5f})")
    return arr


def _delta(delta) -> np.ndarray:
    arr = _as_array(delta, "delta")
    if np.any(arr <= 0) or np.any(arr >= 1):
        raise ValueError(f"delta must lie in the open interval (0, 1), got {delta!r}")
    return arr


def _risks(risks, name: str = "empirical_risks") -> np.ndarray:
    """Per-task risks in [0, 1]: shape (m,), or (..., m) for a batch of independent runs."""
    arr = _as_array(risks, name)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty vector of per-task risks, shape (m,) or "
                         f"(..., m), got shape {arr.shape}")
    if np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name} must lie in [0, 1] (the theorems assume losses in [0, 1]), got {arr}")
    return arr


def _rho(rho) -> np.ndarray:
    return _positive(rho, "rho")


def _nonneg(value, name: str) -> np.ndarray:
    arr = _as_array(value, name)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return arr


# --------------------------------------------------------------------------- constants
def nu(T: ArrayLike) -> FloatOrArray:
    """Lipschitz constant of ``h(z) = exp(z/T)`` on ``[0, 1]``: ``nu = e^{1/T} / T``.

    Paper, Theorem 3 ("nu = (1/T) exp(1/T)"); SPEC Sec. 4.2 (i): ``1/T <= h'(z) <= nu`` on [0, 1].

    Args:
        T: temperature ``T > 0`` (paper default 50); scalar or array.
    """
    T = _temperature(T)
    return _out(np.exp(1.0 / T) / T)


def bounded_difference(T: ArrayLike, n0: ArrayLike, tight: bool = True) -> FloatOrArray:
    """Largest change of ``h(a)`` when ``a in [0, 1]`` moves by at most ``1/n0``.

    SPEC Sec. 4.2 (ii): ``c_h = e^{1/T} (1 - e^{-1/(n0 T)})`` (tight; attained at ``a = 1,
    b = 1 - 1/n0``).  With ``tight=False`` the paper's looser ``e^{1/T} (e^{1/(n0 T)} - 1)``.

    Args:
        T: temperature ``> 0``.
        n0: samples per task (positive integer).
        tight: which of the two expressions.
    """
    T, n0 = _temperature(T), _count(n0, "n0")
    x = 1.0 / (n0 * T)
    # expm1 keeps the tiny difference accurate when n0*T is large.
    core = -np.expm1(-x) if tight else np.expm1(x)
    return _out(np.exp(1.0 / T) * core)


def eta(T: ArrayLike, m: ArrayLike, n0: ArrayLike, tight: bool = False) -> FloatOrArray:
    """Bounded-difference constant of McDiarmid's inequality in Theorem 3.

    Replacing one of the ``m n0`` training samples moves one ``R^_i`` by ``<= 1/n0`` and so
    ``R^_h`` by ``<= c_h / m``.

    * ``tight=False``: the paper's ``eta = (2/m) e^{1/T} (e^{1/(n0 T)} - 1)`` (Theorem 3).
    * ``tight=True``: the exact ``c_h / m = e^{1/T} (1 - e^{-1/(n0 T)}) / m`` (SPEC Sec. 4.3).

    Args:
        T: temperature ``> 0``; m: number of tasks; n0: samples per task.
        tight: paper constant (False) or exact bounded difference (True).
    """
    m = _count(m, "m")
    c = np.asarray(bounded_difference(T, n0, tight=tight))
    factor = 1.0 if tight else 2.0
    return _out(factor * c / m)


def confidence_term(T: ArrayLike, m: ArrayLike, n0: ArrayLike, delta: ArrayLike,
                    tight: bool = False) -> FloatOrArray:
    """Confidence term of Theorems 3-5: ``sqrt(eta^2 m n0 ln(1/delta) / 2)``.

    McDiarmid's inequality over the ``N = m n0`` independent samples with bounded difference
    ``eta`` (:func:`eta`).  It decays like ``nu sqrt(ln(1/delta) / (2 m n0))`` (times 2 for the
    paper's ``eta``), i.e. O(1/sqrt(m n0)) -- not the rate claimed in Remark 1
    (see :func:`remark1_confidence`).

    Args:
        T: temperature ``> 0``; m: tasks; n0: samples per task.
        delta: failure probability in ``(0, 1)``; the bound holds with probability ``>= 1 - delta``.
        tight: paper's ``eta`` (False) or the exact bounded difference (True).
    """
    e = np.asarray(eta(T, m, n0, tight=tight))
    m, n0, delta = _count(m, "m"), _count(n0, "n0"), _delta(delta)
    return _out(np.sqrt(e ** 2 * m * n0 * np.log(1.0 / delta) / 2.0))


def remark1_confidence(T: ArrayLike, m: ArrayLike, n0: ArrayLike, delta: ArrayLike,
                       lemma1_form: bool = False) -> FloatOrArray:
    """The confidence term with the rate *as Remark 1 of the paper reads it off* (an erratum).

    Remark 1 states the confidence term is ``O(sqrt(n0 (e^{1/(n0 T)} - 1) / m))``: the square on
    ``(e^{1/(n0 T)} - 1)`` that ``eta^2`` carries was dropped.  This function keeps the exact
    prefactor of :func:`confidence_term` (paper ``eta``) and drops the same square::

        2 e^{1/T} sqrt(ln(1/delta)/2) * sqrt(n0 (e^{1/(n0 T)} - 1) / m)

    which tends to ``2 e^{1/T} sqrt(ln(1/delta) / (2 m T))`` as ``n0 -> inf`` instead of 0.
    With ``lemma1_form=True`` the Lemma-1 lower bound ``n0 (e^{x} - 1) >= (1/T) e^{x/2}``
    (``x = 1/(n0 T)``) is substituted, giving the printed ``Theta(e^{1/(4 n0 T)} / sqrt(m))``.

    Args:
        T, m, n0, delta: as in :func:`confidence_term`.
        lemma1_form: return the Lemma-1 (Theta) expression instead of the O(.) one.
    """
    T, m, n0, delta = _temperature(T), _count(m, "m"), _count(n0, "n0"), _delta(delta)
    x = 1.0 / (n0 * T)
    prefactor = 2.0 * np.exp(1.0 / T) * np.sqrt(np.log(1.0 / delta) / 2.0)
    if lemma1_form:
        inner = np.exp(x / 2.0) / T
    else:
        inner = n0 * np.expm1(x)
    return _out(prefactor * np.sqrt(inner / m))


# --------------------------------------------------------------------------- Lemma 1
def lemma1_gap(x: ArrayLike) -> FloatOrArray:
    """``(e^x - 1)/x - e^{x/2}``, which Lemma 1 (appendix) says is ``>= 0`` for ``x > 0``.

    Computed as ``e^{x/2} (sinh(u)/u - 1)`` with ``u = x/2`` (because ``e^x - 1 = 2 e^{u}
    sinh(u)``), which is non-negative term by term and stays accurate for tiny ``x`` where the
    two sides agree to ``O(x^2)`` (the gap is ``x^2/24 + O(x^3)``).

    Args:
        x: ``x > 0`` (scalar or array; ``x <= 700`` to avoid overflow).
    """
    x = _positive(x, "x")
    if np.any(x > 2 * _MAX_EXPONENT):
        raise ValueError(f"x must be <= {2 * _MAX_EXPONENT} to avoid overflow")
    u = x / 2.0
    small = u < 1e-3
    # Taylor series of sinh(u)/u - 1 where the direct form cancels catastrophically.
    series = u ** 2 / 6.0 + u ** 4 / 120.0 + u ** 6 / 5040.0
    direct = np.sinh(u) / np.where(small, 1.0, u) - 1.0
    return _out(np.exp(u) * np.where(small, series, direct))


def lemma1_holds(x: ArrayLike) -> bool:
    """True when Lemma 1, ``(e^x - 1)/x >= e^{x/2}``, holds at every ``x > 0`` given."""
    return bool(np.all(np.asarray(lemma1_gap(x)) >= 0.0))


# --------------------------------------------------------------------------- risks
def transformed_risk(risks: ArrayLike, T: float) -> FloatOrArray:
    """``(1/m) sum_i exp(R_i / T)``: the transformed risk ``R_h`` (or ``R^_h``), Sec. 3.4.

    Args:
        risks: per-task risks in ``[0, 1]``, shape ``(m,)`` (or ``(..., m)``: one value per run).
        T: temperature ``> 0`` (scalar).
    Returns:
        a float, or an array of shape ``(...)`` for batched risks.
    """
    r = _risks(risks, "risks")
    T = float(_temperature(T))
    return _out(np.mean(np.exp(r / T), axis=-1))


def complexity_term(T: ArrayLike, rademacher: ArrayLike, rho: ArrayLike = 1.0,
                    tight: bool = False) -> FloatOrArray:
    """Complexity term of Theorem 3.

    * ``tight=False`` (paper): ``8 rho nu Rad_f``, with ``Rad_f = E sup sum_i sigma_i/(n0 m)
      sum_j f_i(x_ij)`` the task-level Rademacher term of the *outputs* (one sign per task).
      (The paper's step from losses to outputs uses a scalar contraction that does not apply to
      an average of n0 losses, SPEC Sec. 4.5; the linear case remains valid, Theorem 5.)
    * ``tight=True`` (SPEC Sec. 4.3): ``2 nu Rad_l``, with ``Rad_l`` the same term over the loss
      values ``l(f_i(x_ij), y_ij)``; ``rho`` is then unused.

    Args:
        T: temperature ``> 0``; rademacher: ``Rad_f`` or ``Rad_l`` (>= 0);
        rho: Lipschitz constant of the loss in the prediction (``> 0``).
        tight: which form.
    """
    n, rad, rho = np.asarray(nu(T)), _nonneg(rademacher, "rademacher"), _rho(rho)
    return _out(2.0 * n * rad if tight else 8.0 * rho * n * rad)


def theorem3_rhs(empirical_risks: ArrayLike, rademacher: float, T: float, n0: int,
                 delta: float, rho: float = 1.0, tight: bool = False) -> FloatOrArray:
    """Right-hand side of Theorem 3: w.p. ``>= 1 - delta``, ``R_h <= R^_h + complexity + conf``.

    ``R_h = (1/m) sum_i e^{R_i/T}`` (true), ``R^_h`` the same over ``empirical_risks``;
    complexity from :func:`complexity_term`, confidence from :func:`confidence_term`.

    Args:
        empirical_risks: ``R^_i`` in ``[0, 1]``, shape ``(m,)`` (``m`` is its length), or
            ``(..., m)`` for a batch of runs (then the result has shape ``(...)``).
        rademacher: ``Rad_f`` (paper form) or ``Rad_l`` (tight form), see :func:`complexity_term`.
        T: temperature; n0: samples per task; delta: failure probability in (0, 1).
        rho: Lipschitz constant of the loss; tight: paper constants (False) or SPEC's (True).
    """
    r = _risks(empirical_risks)
    m = r.shape[-1]
    return _out(np.asarray(transformed_risk(r, T)) + complexity_term(T, rademacher, rho, tight)
                + confidence_term(T, m, n0, delta, tight))


def theorem4_rhs(empirical_risks: ArrayLike, rademacher: float, T: float, n0: int,
                 delta: float, rho: float = 1.0, tight: bool = False) -> FloatOrArray:
    """Right-hand side of Theorem 4: w.p. ``>= 1 - delta`` the *mean* risk obeys
    ``(1/m) sum_i R_i <= T ln(R^_h + complexity + conf)``.

    Jensen: ``h((1/m) sum R_i) <= (1/m) sum h(R_i) = R_h``, then Theorem 3 (:func:`theorem3_rhs`).
    As ``T -> inf`` it tends to :func:`theorem4_limit`.
    Args: as :func:`theorem3_rhs`.
    """
    T_ = float(_temperature(T))
    return _out(T_ * np.log(theorem3_rhs(empirical_risks, rademacher, T, n0, delta, rho, tight)))


def theorem4_limit(empirical_risks: ArrayLike, rademacher: float, n0: int, delta: float,
                   rho: float = 1.0, tight: bool = False) -> FloatOrArray:
    """``lim_{T -> inf}`` of :func:`theorem4_rhs` (SPEC Sec. 4.4).

    ``nu ~ 1/T`` and ``c_h ~ 1/(n0 T)``, so ``T ln(R^_h + ...)`` tends to the direct-sum bound
    ``mean(R^_i) + k_c Rad + k_d sqrt(ln(1/delta) / (2 m n0))`` with ``k_c = 8 rho, k_d = 2`` (paper)
    or ``k_c = 2, k_d = 1`` (tight).
    """
    r = _risks(empirical_risks)
    m = r.shape[-1]
    rad, rho_, n0_, d = (_nonneg(rademacher, "rademacher"), _rho(rho), _count(n0, "n0"),
                         _delta(delta))
    k_c, k_d = (2.0, 1.0) if tight else (8.0 * float(rho_), 2.0)
    return _out(r.mean(axis=-1) + k_c * rad + k_d * np.sqrt(np.log(1.0 / d) / (2.0 * m * n0_)))


def theorem5_complexity(T: ArrayLike, m: ArrayLike, beta: ArrayLike, rho: ArrayLike = 1.0,
                        x_norm: ArrayLike = 1.0, tight: bool = False) -> FloatOrArray:
    """Complexity term of Theorem 5 (linear ``f_i(x) = <theta_i, x>``, ``||Theta||_F <= beta``,
    ``||x|| <= x_norm``).

    Paper: ``8 rho nu beta x_norm / sqrt(m)`` (``Rad_f <= beta/sqrt(m)``).  Tight (SPEC Sec. 4.5,
    vector contraction): ``2 nu sqrt(2) rho beta x_norm / sqrt(m)``.  It does not shrink with n0.
    """
    m, beta, rho, xn = (_count(m, "m"), _positive(beta, "beta"), _rho(rho),
                        _positive(x_norm, "x_norm"))
    n = np.asarray(nu(T))
    const = 2.0 * math.sqrt(2.0) if tight else 8.0
    return _out(const * rho * n * beta * xn / np.sqrt(m))


def theorem5_rhs(empirical_risks: ArrayLike, beta: float, T: float, n0: int, delta: float,
                 rho: float = 1.0, x_norm: float = 1.0, tight: bool = False) -> FloatOrArray:
    """Right-hand side of Theorem 5: w.p. ``>= 1 - delta`` every linear predictor with
    ``||Theta||_F <= beta`` on inputs ``||x|| <= x_norm`` satisfies
    ``R_h <= R^_h + theorem5_complexity + conf``.

    Args:
        empirical_risks: ``R^_i`` in [0, 1], shape ``(m,)`` or ``(..., m)``; beta: radius (> 0);
        T, n0, delta, rho, tight: as :func:`theorem3_rhs`; x_norm: bound on ``||x||`` (paper: 1).
    """
    r = _risks(empirical_risks)
    m = r.shape[-1]
    return _out(np.asarray(transformed_risk(r, T)) + theorem5_complexity(T, m, beta, rho, x_norm, tight)
                + confidence_term(T, m, n0, delta, tight))


# --------------------------------------------------------------------------- Rademacher, linear
def _task_inputs(X, name: str = "X") -> list[np.ndarray]:
    """Per-task input matrices (n_i, d) from an (m, n0, d) array or a list of (n_i, d) arrays."""
    if isinstance(X, (list, tuple)):
        mats = [_as_array(x, f"{name}[{i}]") for i, x in enumerate(X)]
    else:
        arr = _as_array(X, name)
        if arr.ndim != 3:
            raise ValueError(f"{name} must have shape (m, n0, d) or be a list of (n_i, d) arrays, "
                             f"got shape {arr.shape}")
        mats = list(arr)
    if not mats:
        raise ValueError(f"{name} holds no task")
    d = None
    for i, x in enumerate(mats):
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"{name}[{i}] must have shape (n_i, d) with n_i >= 1, got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name}[{i}] contains inf")
        if d is None:
            d = x.shape[1]
        elif x.shape[1] != d:
            raise ValueError(f"all tasks need the same input dimension: {name}[0] has d={d}, "
                             f"{name}[{i}] has d={x.shape[1]}")
    return mats


def rademacher_linear_task(X, beta: float = 1.0) -> float:
    """Task-level Rademacher term of the outputs, linear model, closed form (Theorem 5 proof).

    ``Rad_f = E_sigma sup_{||Theta||_F <= beta} sum_i sigma_i / (n_i m) sum_j <theta_i, x_ij>
    = (beta/m) sqrt(sum_i ||xbar_i||^2)``, ``xbar_i`` the mean input of task i.  The supremum is
    ``(beta/m) ||[sigma_i xbar_i]_i||_F``, which does not depend on the signs (sigma_i^2 = 1), so
    the expectation is exact.  It is ``<= beta/sqrt(m)`` when ``||x|| <= 1`` (paper's last step).

    Args:
        X: inputs, shape ``(m, n0, d)`` or a list of ``(n_i, d)`` arrays.
        beta: Frobenius radius ``> 0``.
    """
    mats, beta = _task_inputs(X), float(_positive(beta, "beta"))
    means = np.stack([x.mean(axis=0) for x in mats])
    return float(beta / len(mats) * np.linalg.norm(means))


def rademacher_linear_task_mc(X, beta: float = 1.0, n_draws: int = 100, seed: int = 0) -> float:
    """Monte Carlo estimate of :func:`rademacher_linear_task`: draw task signs ``sigma in {+-1}^m``,
    evaluate the supremum for each draw at its maximiser ``Theta = beta G / ||G||_F`` with
    ``G = [sigma_i xbar_i / m]_i``, and average.  Agrees with the closed form for every draw.

    Args: X, beta as :func:`rademacher_linear_task`; n_draws: sign draws (>= 1); seed: RNG seed.
    """
    mats, beta = _task_inputs(X), float(_positive(beta, "beta"))
    n_draws = int(_count(n_draws, "n_draws"))
    rng = np.random.default_rng(seed)
    m = len(mats)
    means = np.stack([x.mean(axis=0) for x in mats])                   # (m, d)
    sigma = rng.choice([-1.0, 1.0], size=(n_draws, m))
    G = sigma[:, :, None] * means[None] / m                             # (K, m, d)
    norms = np.linalg.norm(G.reshape(n_draws, -1), axis=1)
    theta = beta * G / np.where(norms > 0, norms, 1.0)[:, None, None]
    # Evaluate the objective at the maximiser instead of writing down its value.
    values = np.einsum("kmd,kmd->k", theta, G)
    return float(values.mean())


def rademacher_linear_sample_mc(X, beta: float = 1.0, n_draws: int = 200, seed: int = 0,
                                return_stderr: bool = False) -> float | tuple[float, float]:
    """Per-sample (standard) Rademacher term of a linear model in a Frobenius ball, Monte Carlo.

    ``Rad_ps = E_sigma sup_{||Theta||_F <= beta} sum_ij sigma_ij <theta_i, x_ij> / (n_i m)
    = (beta/m) E ||[sum_j sigma_ij x_ij / n_i]_i||_F`` (SPEC Sec. 4.6), one sign per *sample*.
    The inner supremum is exact; only the expectation over signs is sampled.  With one sample
    per task it equals :func:`rademacher_linear_task`.

    Args:
        X: ``(m, n0, d)`` or list of ``(n_i, d)``; beta: radius; n_draws: sign draws; seed: RNG seed.
        return_stderr: also return the Monte Carlo standard error.
    """
    mats, beta = _task_inputs(X), float(_positive(beta, "beta"))
    n_draws = int(_count(n_draws, "n_draws"))
    rng = np.random.default_rng(seed)
    m = len(mats)
    sq = np.zeros(n_draws)
    for x in mats:
        sigma = rng.choice([-1.0, 1.0], size=(n_draws, x.shape[0]))
        v = sigma @ x / x.shape[0]                                      # (K, d)
        sq += np.einsum("kd,kd->k", v, v)
    values = beta / m * np.sqrt(sq)
    mean = float(values.mean())
    if return_stderr:
        stderr = float(values.std(ddof=1) / math.sqrt(n_draws)) if n_draws > 1 else float("inf")
        return mean, stderr
    return mean


def rademacher_linear_sample_jensen(X, beta: float = 1.0) -> float:
    """Jensen upper bound on :func:`rademacher_linear_sample_mc`:
    ``(beta/m) sqrt(sum_i sum_j ||x_ij||^2 / n_i^2)`` (``= beta sqrt(sum ||x||^2)/(m n0)`` for equal
    n_i; ``<= beta / sqrt(m n0)`` when ``||x|| <= 1``)."""
    mats, beta = _task_inputs(X), float(_positive(beta, "beta"))
    total = sum(float(np.sum(x ** 2)) / x.shape[0] ** 2 for x in mats)
    return float(beta / len(mats) * math.sqrt(total))


def rademacher_contraction_bound(X, beta: float = 1.0, rho: float = 1.0) -> float:
    """Upper bound on the task-level Rademacher term of the *losses*, ``Rad_l``, linear model.

    Vector contraction (Maurer 2016; SPEC Sec. 4.5): task i's mean loss is a
    ``rho/(m sqrt(n_i))``-Lipschitz (l2) function of its ``n_i`` outputs, hence
    ``Rad_l <= sqrt(2) (rho/m) sqrt(sum_i sum_j ||x_ij||^2 / n_i)`` times ``beta``, which is
    ``<= sqrt(2) rho beta / sqrt(m)`` for ``||x|| <= 1``.  Feed it to ``complexity_term(tight=True)``.

    Args: X as :func:`rademacher_linear_task`; beta: radius (> 0); rho: loss Lipschitz constant.
    """
    mats, beta, rho = _task_inputs(X), float(_positive(beta, "beta")), float(_rho(rho))
    total = sum(float(np.sum(x ** 2)) / x.shape[0] for x in mats)
    return float(math.sqrt(2.0) * rho * beta / len(mats) * math.sqrt(total))


__all__ = [
    "nu", "bounded_difference", "eta", "confidence_term", "remark1_confidence",
    "lemma1_gap", "lemma1_holds", "transformed_risk", "complexity_term",
    "theorem3_rhs", "theorem4_rhs", "theorem4_limit", "theorem5_complexity", "theorem5_rhs",
    "rademacher_linear_task", "rademacher_linear_task_mc", "rademacher_linear_sample_mc",
    "rademacher_linear_sample_jensen", "rademacher_contraction_bound",
]
