"""Tests of the MGDA min-norm solvers against SPEC §6.3 and an exact rational reference."""
import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bmtl_edu.balancers.min_norm import (exact, frank_wolfe, kkt_gap, min_norm, project_simplex,
                                         projected_gradient, two_task)

SOLVERS = [exact, frank_wolfe, projected_gradient]


def gram(*gs):
    G = np.array(gs, dtype=np.float64)
    return G @ G.T


def objective(M, a):
    return float(a @ M @ a)


# ---------------------------------------------------------------- exact rational reference
def _frac_solve(K, b):
    n = len(K)
    A = [list(row) + [bb] for row, bb in zip(K, b)]
    for c in range(n):
        p = next((r for r in range(c, n) if A[r][c] != 0), None)
        if p is None:
            return None
        A[c], A[p] = A[p], A[c]
        for r in range(n):
            if r != c and A[r][c] != 0:
                f = A[r][c] / A[c][c]
                A[r] = [x - f * y for x, y in zip(A[r], A[c])]
    return [A[i][n] / A[i][i] for i in range(n)]


def reference_min(M) -> Fraction:
    """min over the simplex of a^T M a, in exact rational arithmetic, by enumerating every
    support and solving its KKT system exactly (an optimum lies on an affinely independent
    face, whose system is non-singular)."""
    m = len(M)
    Mf = [[Fraction(float(x)) for x in row] for row in M]
    best = None
    for k in range(1, m + 1):
        for S in itertools.combinations(range(m), k):
            K = [[Mf[i][j] for j in S] + [Fraction(1)] for i in S] + [[Fraction(1)] * k + [Fraction(0)]]
            x = _frac_solve(K, [Fraction(0)] * k + [Fraction(1)])
            if x is None or min(x[:k]) < 0:
                continue
            f = sum(x[a] * x[b] * Mf[i][j] for a, i in enumerate(S) for b, j in enumerate(S))
            best = f if best is None or f < best else best
    return best


def exact_value(M, a) -> Fraction:
    af = [Fraction(float(x)) for x in a]
    s = sum(af)
    return sum(af[i] * af[j] * Fraction(float(M[i][j])) for i in range(len(a)) for j in range(len(a))) / (s * s)


@st.composite
def gradients(draw, max_m=5):
    m = draw(st.integers(2, max_m))
    d = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((m, d))
    if draw(st.booleans()):  # badly scaled: norms spanning 1e-2 .. 1e2
        G *= 10.0 ** rng.uniform(-2, 2, size=(m, 1))
    if draw(st.booleans()) and m >= 3:  # a duplicated or collinear gradient (singular Gram)
        G[-1] = G[0] * draw(st.sampled_from([1.0, 2.0, -0.5]))
    return G


# ---------------------------------------------------------------- SPEC §6.3 oracles
def test_two_task_oracles():
    assert two_task(1.0, 0.0, 1.0) == (0.5, 0.5)
    g, c = two_task(1.0, 0.0, 4.0)           # g1=(1,0), g2=(0,2)
    assert g == pytest.approx(0.8) and c == pytest.approx(0.8)
    assert two_task(1.0, 2.0, 4.0) == (1.0, 1.0)   # v12 >= v11: exactly 1, not 0.999
    assert two_task(4.0, 2.0, 1.0) == (0.0, 1.0)   # v12 >= v22: exactly 0
    assert two_task(1.0, 1.0, 1.0) == (1.0, 1.0)   # identical vectors: first branch, no NaN
    g, c = two_task(1.0, -1.0, 1.0)
    assert g == 0.5 and c == 0.0


@pytest.mark.parametrize("solver", SOLVERS)
def test_spec_instances(solver):
    a = solver(gram((1, 0), (0, 2)))
    np.testing.assert_allclose(a, [0.8, 0.2], atol=1e-6)
    np.testing.assert_allclose(a @ np.array([[1, 0], [0, 2]]), [0.8, 0.4], atol=1e-6)
    np.testing.assert_allclose(solver(gram((1, 0), (2, 0))), [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(solver(gram((1, 0), (-1, 0))), [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(solver(np.eye(3)), [1 / 3] * 3, atol=1e-5)
    M = gram((1, 0), (0, 1), (-1, -1))
    assert objective(M, solver(M)) == pytest.approx(0.0, abs=1e-8)
    M = gram((1, 0), (0, 1), (1, 1))
    # FW converges sub-linearly here (SPEC 6.3): a looser objective tolerance for it
    assert objective(M, solver(M)) == pytest.approx(0.5, abs=5e-3 if solver is frank_wolfe else 1e-6)
    M = gram((3, 1), (1, 2), (2, 2))
    assert objective(M, solver(M)) == pytest.approx(5.0, abs=1e-6)
    M = np.diag([4.0, 1.0, 0.25])  # orthogonal grads with norms (2, 1, 0.5)
    np.testing.assert_allclose(solver(M), [0.047619, 0.190476, 0.761905], atol=2e-3)


def test_exact_is_exact_on_spec_instances():
    np.testing.assert_allclose(exact(gram((1, 0), (0, 1), (1, 1))), [0.5, 0.5, 0.0], atol=1e-14)
    np.testing.assert_allclose(exact(gram((3, 1), (1, 2), (2, 2))), [0.0, 1.0, 0.0], atol=1e-14)
    np.testing.assert_allclose(exact(np.diag([4.0, 1.0, 0.25])), np.array([1, 4, 16]) / 21, rtol=1e-12)
    np.testing.assert_allclose(exact(gram((1, 0), (0, 1), (-1, -1))), [1 / 3] * 3, atol=1e-12)
    np.testing.assert_allclose(projected_gradient(gram((1, 0), (0, 1), (1, 1))), [0.5, 0.5, 0.0], atol=1e-9)


def test_frank_wolfe_is_slow_where_spec_says():
    alpha = frank_wolfe(gram((1, 0), (0, 1), (1, 1)), max_iter=1000, tol=0.0)
    assert alpha[2] > 0  # sub-linear: still not at the vertex face after 1000 steps
    assert objective(gram((1, 0), (0, 1), (1, 1)), alpha) == pytest.approx(0.5, abs=1e-3)


def test_single_task_and_zero_gradient():
    for solver in SOLVERS:
        np.testing.assert_array_equal(solver(np.array([[3.0]])), [1.0])
    np.testing.assert_array_equal(exact(gram((1, 0), (0, 0), (0, 1))), [0.0, 1.0, 0.0])


def test_project_simplex():
    np.testing.assert_allclose(project_simplex([0.5, 0.5, 0.5]), [1 / 3] * 3)
    np.testing.assert_allclose(project_simplex([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5])
    np.testing.assert_allclose(project_simplex([2.0, 0.0, -1.0]), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        project_simplex([[1.0]])


def test_bad_gram_rejected():
    with pytest.raises(ValueError, match="square"):
        exact(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        exact(np.array([[1.0, np.nan], [np.nan, 1.0]]))
    with pytest.raises(KeyError, match="exact"):
        min_norm(np.eye(2), method="newton")
    with pytest.raises(ValueError, match="max_iter"):
        frank_wolfe(np.eye(3), max_iter=0)


# ---------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(gradients())
def test_exact_matches_rational_reference(G):
    M = G @ G.T
    alpha = exact(M)
    assert (alpha >= 0).all() and abs(alpha.sum() - 1) < 1e-12
    f, f_star = exact_value(M, alpha), reference_min(M)
    assert f >= f_star  # sanity of the reference: nothing beats the true minimum
    assert float(f - f_star) <= 1e-9 * float(f_star) + 1e-13 * float(np.diag(M).max())


@settings(max_examples=30, deadline=None)
@given(gradients(max_m=10))
def test_exact_kkt_and_simplex_up_to_ten_tasks(G):
    M = G @ G.T
    alpha = exact(M)
    assert (alpha >= 0).all() and abs(alpha.sum() - 1) < 1e-12
    v = alpha @ G
    f = float(v @ v)
    proj = G @ v
    scale = float(np.diag(M).max())
    # KKT: g_t . v >= ||v||^2 for all t, equality on the support
    assert (proj >= f - 1e-9 * f - 1e-12 * scale).all()
    support = alpha > 1e-9
    np.testing.assert_allclose(proj[support], f, rtol=1e-6, atol=1e-10 * scale)
    assert kkt_gap(M, alpha) <= 1e-9 * f + 1e-12 * scale


@settings(max_examples=30, deadline=None)
@given(gradients(max_m=6))
def test_iterative_solvers_near_exact(G):
    M = G @ G.T
    f_star = objective(M, exact(M))
    scale = float(np.diag(M).max())
    for solver in (frank_wolfe, projected_gradient):
        a = solver(M, max_iter=250)
        assert (a >= -1e-12).all() and abs(a.sum() - 1) < 1e-9
        assert objective(M, a) >= f_star - 1e-12 * scale
    assert objective(M, projected_gradient(M, max_iter=2000, tol=1e-12)) <= f_star + 1e-2 * scale


@settings(max_examples=30, deadline=None)
@given(gradients(max_m=6), st.integers(0, 2 ** 31 - 1))
def test_l2_normalisation_is_scale_invariant(G, seed):
    rng = np.random.default_rng(seed)
    n = np.linalg.norm(G, axis=1, keepdims=True)
    scaled = G * 10.0 ** rng.uniform(-2, 2, size=(len(G), 1))
    Gn, Sn = G / n, scaled / np.linalg.norm(scaled, axis=1, keepdims=True)
    a, b = exact(Gn @ Gn.T), exact(Sn @ Sn.T)
    assert objective(Gn @ Gn.T, b) == pytest.approx(objective(Gn @ Gn.T, a), rel=1e-9, abs=1e-12)
