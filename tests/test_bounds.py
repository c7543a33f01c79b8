"""Tests of bmtl_edu.bounds (Theorems 3-5, Lemma 1, Rademacher estimates), its simulation,
plots and widget.  Oracles: SPEC Sec. 6.7 numbers and independent brute-force computations."""
import itertools
import math
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from bmtl_edu import bounds
from bmtl_edu.bound_simulation import (fit_bmtl_linear, make_linear_problem, simulate_gaps,
                                       task_risks)

DELTA = 0.05


# ------------------------------------------------------------------ SPEC 6.7 numbers
def test_spec_numbers_T50():
    assert bounds.nu(50) == pytest.approx(0.0204040, abs=5e-8)
    assert bounds.eta(50, 3, 100) == pytest.approx(1.36040e-4, rel=1e-5)
    assert 2 * bounds.eta(50, 3, 100, tight=True) == pytest.approx(1.36013e-4, rel=1e-5)
    paper = bounds.confidence_term(50, 3, 100, DELTA)
    tight = bounds.confidence_term(50, 3, 100, DELTA, tight=True)
    assert paper == pytest.approx(0.0028838, rel=1e-4)
    assert tight == pytest.approx(0.0014416, rel=1e-4)
    assert paper / tight == pytest.approx(2.0004, abs=1e-4)
    assert tight == pytest.approx(0.0014418, rel=5e-4)  # ~ nu sqrt(ln(1/delta)/(2 m n0))


def test_spec_numbers_small_T():
    assert bounds.nu(1) == pytest.approx(2.71828, rel=1e-5)
    assert bounds.nu(0.5) == pytest.approx(14.7781, rel=1e-5)
    ratio = bounds.confidence_term(1, 3, 100, DELTA) / bounds.confidence_term(1, 3, 100, DELTA, tight=True)
    assert ratio == pytest.approx(2.0201, abs=1e-4)


@pytest.mark.parametrize("T, expected", [(1, 0.494541), (10, 0.407999), (100, 0.400785)])
def test_theorem4_limit_numbers(T, expected):
    risks = [0.1, 0.3, 0.5]
    value = T * math.log(bounds.transformed_risk(risks, T)
                         + bounds.complexity_term(T, 0.05, tight=True))
    assert value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("tight", [False, True])
def test_theorem4_tends_to_limit(tight):
    risks = [0.1, 0.3, 0.5]
    limit = bounds.theorem4_limit(risks, 0.05, 100, DELTA, tight=tight)
    far = bounds.theorem4_rhs(risks, 0.05, 1e6, 100, DELTA, tight=tight)
    assert far == pytest.approx(limit, abs=1e-5)
    # the limit is the direct-sum bound: 0.3 + 2*0.05 (+ confidence) for the tight form
    if tight:
        assert limit == pytest.approx(0.4 + math.sqrt(math.log(20) / 600), abs=1e-12)
    # and small T is vacuous (far above the trivial bound 1)
    assert bounds.theorem4_rhs(risks, 0.05, 0.05, 100, DELTA, tight=tight) > 1.0


# ------------------------------------------------------------------ independent oracles
@pytest.mark.parametrize("T, n0", [(50, 100), (1, 10), (0.5, 3)])
def test_bounded_difference_is_max_over_grid(T, n0):
    """c_h = max |h(a) - h(b)| over a, b in [0,1], |a - b| <= 1/n0 (brute force)."""
    b = np.linspace(0, 1 - 1 / n0, 20001)
    brute = np.max(np.exp((b + 1 / n0) / T) - np.exp(b / T))
    assert bounds.bounded_difference(T, n0) == pytest.approx(brute, rel=1e-9)
    assert bounds.bounded_difference(T, n0, tight=False) > brute


def test_confidence_solves_mcdiarmid():
    """P = exp(-2 eps^2 / (N c^2)) must equal delta at eps = confidence term, c = eta."""
    for T, m, n0, delta in [(50, 3, 100, 0.05), (2, 7, 13, 0.2), (0.7, 1, 1, 1e-4)]:
        for tight in (False, True):
            eps = bounds.confidence_term(T, m, n0, delta, tight)
            c = bounds.eta(T, m, n0, tight)
            assert math.exp(-2 * eps ** 2 / (m * n0 * c ** 2)) == pytest.approx(delta, rel=1e-9)


def test_tight_half_of_paper_for_large_n0T():
    n0 = np.array([10, 100, 1000, 10 ** 5])
    ratio = bounds.confidence_term(50, 4, n0, DELTA) / bounds.confidence_term(50, 4, n0, DELTA, True)
    assert np.all(ratio > 2.0) and np.all(np.diff(ratio) < 0)
    assert ratio[-1] == pytest.approx(2.0, abs=1e-6)


# ------------------------------------------------------------------ monotonicity
def test_monotone_in_n0_m_delta_T():
    n0 = np.unique(np.round(np.logspace(0, 6, 40)))
    for tight in (False, True):
        c = bounds.confidence_term(50, 3, n0, DELTA, tight)
        assert np.all(np.diff(c) < 0)
        m = np.arange(1, 60)
        assert np.all(np.diff(bounds.confidence_term(50, m, 100, DELTA, tight)) < 0)
        d = np.logspace(-8, -0.01, 30)
        assert np.all(np.diff(bounds.confidence_term(50, 3, 100, d, tight)) < 0)
        T = np.logspace(-1, 3, 30)
        assert np.all(np.diff(bounds.confidence_term(T, 3, 100, DELTA, tight)) < 0)
        assert np.all(np.diff(bounds.theorem5_complexity(T, 3, 1.0, tight=tight)) < 0)
    assert np.all(np.diff(bounds.nu(np.logspace(-1, 3, 30))) < 0)
    assert np.all(np.diff(bounds.theorem5_complexity(50, np.arange(1, 50), 1.0)) < 0)


def test_confidence_rate_is_one_over_sqrt_m_n0():
    """Quadrupling m*n0 halves the confidence term asymptotically (O(1/sqrt(m n0)))."""
    a = bounds.confidence_term(50, 3, 10 ** 5, DELTA)
    b = bounds.confidence_term(50, 3, 4 * 10 ** 5, DELTA)
    c = bounds.confidence_term(50, 12, 10 ** 5, DELTA)
    assert a / b == pytest.approx(2.0, rel=1e-4)
    assert a / c == pytest.approx(2.0, rel=1e-12)


def test_remark1_reading_does_not_vanish():
    T, m = 5.0, 3
    n0 = np.array([10, 10 ** 3, 10 ** 5, 10 ** 7])
    printed = bounds.remark1_confidence(T, m, n0, DELTA)
    limit = 2 * math.exp(1 / T) * math.sqrt(math.log(1 / DELTA) / (2 * m * T))
    assert printed[-1] == pytest.approx(limit, rel=1e-6)
    correct = bounds.confidence_term(T, m, n0, DELTA)
    assert correct[-1] < 1e-3 * printed[-1]
    # exactly the dropped square: correct / printed = sqrt(e^{1/(n0 T)} - 1)
    np.testing.assert_allclose(correct / printed, np.sqrt(np.expm1(1 / (n0 * T))), rtol=1e-10)
    # Lemma 1 makes the Theta form a lower bound of the O form
    assert np.all(bounds.remark1_confidence(T, m, n0, DELTA, lemma1_form=True) <= printed)


# ------------------------------------------------------------------ Lemma 1
def test_lemma1_on_grid():
    x = np.logspace(-8, np.log10(300), 2000)
    gap = bounds.lemma1_gap(x)
    assert np.all(gap >= 0) and bounds.lemma1_holds(x)
    big = x > 1e-2
    direct = np.expm1(x[big]) / x[big] - np.exp(x[big] / 2)
    np.testing.assert_allclose(gap[big], direct, rtol=1e-7)
    small = x < 1e-4
    np.testing.assert_allclose(gap[small], x[small] ** 2 / 24, rtol=1e-3)
    # the Taylor coefficients used by the paper's proof: g1(i) >= g2(i)
    for i in range(20):
        assert 1 / math.factorial(i + 1) >= 1 / (math.factorial(i) * 2 ** i) - 1e-15


# ------------------------------------------------------------------ theorems 3 and 5
def test_theorem3_and_5_assemble_terms():
    risks = np.array([0.2, 0.4, 0.1, 0.6])
    T, n0, beta = 10.0, 50, 2.0
    rhs3 = bounds.theorem3_rhs(risks, 0.3, T, n0, DELTA, rho=1.5)
    expected = np.mean(np.exp(risks / T)) + 8 * 1.5 * math.exp(1 / T) / T * 0.3 \
        + bounds.confidence_term(T, 4, n0, DELTA)
    assert rhs3 == pytest.approx(expected, rel=1e-12)
    rhs5 = bounds.theorem5_rhs(risks, beta, T, n0, DELTA)
    assert rhs5 == pytest.approx(bounds.theorem3_rhs(risks, beta / 2, T, n0, DELTA), rel=1e-12)
    rhs5t = bounds.theorem5_rhs(risks, beta, T, n0, DELTA, tight=True)
    assert rhs5t < rhs5
    assert rhs5t == pytest.approx(
        bounds.theorem3_rhs(risks, math.sqrt(2) * beta / 2, T, n0, DELTA, tight=True), rel=1e-12)


def test_batched_risks_match_row_by_row():
    rng = np.random.default_rng(5)
    R = rng.uniform(0, 1, (4, 3, 6))
    for fn, args in ((bounds.theorem3_rhs, (0.2, 5.0, 30, DELTA)), (bounds.theorem4_rhs, (0.2, 5.0, 30, DELTA)),
                     (bounds.theorem5_rhs, (1.0, 5.0, 30, DELTA))):
        batched = fn(R, *args, tight=True)
        assert batched.shape == (4, 3)
        assert batched[2, 1] == pytest.approx(fn(R[2, 1], *args, tight=True), rel=1e-12)
    assert bounds.theorem4_limit(R, 0.2, 30, DELTA).shape == (4, 3)


def test_accepts_torch_tensor():
    torch = pytest.importorskip("torch")
    r = torch.tensor([0.1, 0.3, 0.5], dtype=torch.float32)
    assert bounds.transformed_risk(r, 50) == pytest.approx(bounds.transformed_risk([0.1, 0.3, 0.5], 50),
                                                           rel=1e-6)


# ------------------------------------------------------------------ Rademacher estimates
def _ball_inputs(rng, m, n, d):
    g = rng.standard_normal((m, n, d))
    return g / np.linalg.norm(g, axis=-1, keepdims=True) * rng.uniform(0, 1, (m, n, 1))


def test_task_rademacher_closed_form_vs_mc_and_brute_force():
    rng = np.random.default_rng(0)
    X = _ball_inputs(rng, 5, 7, 3)
    closed = bounds.rademacher_linear_task(X, beta=2.0)
    means = X.mean(axis=1)
    assert closed == pytest.approx(2.0 / 5 * math.sqrt(np.sum(means ** 2)), rel=1e-12)
    assert bounds.rademacher_linear_task_mc(X, beta=2.0, n_draws=64) == pytest.approx(closed, rel=1e-12)
    assert closed <= 2.0 / math.sqrt(5)
    # brute force: no point of the ball beats the closed form for a fixed sign draw
    sigma = rng.choice([-1.0, 1.0], 5)
    thetas = rng.standard_normal((20000, 5, 3))
    thetas *= 2.0 / np.linalg.norm(thetas.reshape(20000, -1), axis=1)[:, None, None]
    vals = np.einsum("kmd,md->k", thetas, sigma[:, None] * means) / 5
    assert vals.max() <= closed + 1e-12 and vals.max() > 0.75 * closed


def test_task_rademacher_identical_inputs_independent_of_n0():
    x = np.array([0.6, 0.0, 0.8]) * 0.5
    for n0 in (1, 4, 50):
        X = np.tile(x, (6, n0, 1))
        assert bounds.rademacher_linear_task(X, 1.5) == pytest.approx(1.5 * 0.5 / math.sqrt(6), rel=1e-12)


def test_per_sample_equals_task_level_when_n0_is_one():
    rng = np.random.default_rng(1)
    X = _ball_inputs(rng, 4, 1, 5)
    assert bounds.rademacher_linear_sample_mc(X, 1.0, n_draws=50) == pytest.approx(
        bounds.rademacher_linear_task(X, 1.0), rel=1e-12)


def test_per_sample_mc_matches_exact_enumeration_and_jensen():
    rng = np.random.default_rng(2)
    m, n, d = 2, 5, 3
    X = _ball_inputs(rng, m, n, d)
    exact = 0.0
    for signs in itertools.product([-1.0, 1.0], repeat=m * n):
        s = np.array(signs).reshape(m, n)
        exact += np.linalg.norm(np.einsum("mn,mnd->md", s, X) / n)
    exact /= 2 ** (m * n) * m
    mc, se = bounds.rademacher_linear_sample_mc(X, 1.0, n_draws=4000, seed=3, return_stderr=True)
    assert abs(mc - exact) < 4 * se
    jensen = bounds.rademacher_linear_sample_jensen(X, 1.0)
    assert exact <= jensen <= 1 / math.sqrt(m * n)


def test_contraction_bound_dominates_loss_level_lower_estimate():
    """A lower estimate of Rad_l (sup over a finite set of the ball) stays below the bound."""
    rng = np.random.default_rng(4)
    m, n, d, beta = 3, 4, 2, 1.0
    X = _ball_inputs(rng, m, n, d)
    Y = rng.uniform(-1, 1, (m, n))
    W = rng.standard_normal((3000, m, d))
    W *= beta / np.linalg.norm(W.reshape(3000, -1), axis=1)[:, None, None]
    risks = task_risks(W, np.broadcast_to(X, (3000,) + X.shape), Y)      # (K, m)
    sig = rng.choice([-1.0, 1.0], (400, m))
    lower = np.mean(np.max(sig @ risks.T / m, axis=1))
    bound = bounds.rademacher_contraction_bound(X, beta, rho=1.0)
    assert 0 < lower <= bound <= math.sqrt(2) * beta / math.sqrt(m)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize("call, match", [
    (lambda: bounds.confidence_term(50, 3, 100, 0.0), "delta"),
    (lambda: bounds.confidence_term(50, 3, 100, 1.0), "delta"),
    (lambda: bounds.confidence_term(50, 3, 100, float("nan")), "delta"),
    (lambda: bounds.confidence_term(-1, 3, 100, 0.05), "T"),
    (lambda: bounds.nu(1e-4), "T"),
    (lambda: bounds.eta(50, 0, 100), "m"),
    (lambda: bounds.eta(50, 3, 2.5), "n0"),
    (lambda: bounds.theorem3_rhs([0.1, 1.2], 0.1, 50, 10, 0.05), r"\[0, 1\]"),
    (lambda: bounds.theorem3_rhs(0.1, 0.1, 50, 10, 0.05), "shape"),
    (lambda: bounds.theorem3_rhs(np.zeros((2, 0)), 0.1, 50, 10, 0.05), "shape"),
    (lambda: bounds.theorem3_rhs([0.1], -0.1, 50, 10, 0.05), "rademacher"),
    (lambda: bounds.theorem5_rhs([0.1], 0.0, 50, 10, 0.05), "beta"),
    (lambda: bounds.lemma1_gap(0.0), "x"),
    (lambda: bounds.rademacher_linear_task(np.zeros((3, 4))), "shape"),
    (lambda: bounds.rademacher_linear_task([np.zeros((2, 3)), np.zeros((2, 4))]), "dimension"),
    (lambda: bounds.rademacher_linear_sample_mc(np.zeros((2, 3, 1)), n_draws=0), "n_draws"),
    (lambda: bounds.transformed_risk("abc", 50), "numeric"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ simulation
def test_simulation_bound_holds_every_run_and_gap_shrinks():
    problem = make_linear_problem(m=8, d=4, seed=0)
    sim = simulate_gaps(problem, [5, 80], [1.0, 50.0], trials=4, n_test=4000, steps=60, seed=1)
    assert np.all(sim["Rh_true"] <= sim["thm5_tight"]) and np.all(sim["thm5_tight"] < sim["thm5_paper"])
    assert np.all(sim["mean_true"] <= sim["thm4_tight"]) and np.all(sim["mean_true"] <= sim["thm4_paper"])
    gap = (sim["mean_true"] - sim["mean_train"]).mean(axis=-1)
    assert np.all(gap[0] > gap[1])   # more data, smaller empirical gap
    assert np.all(gap[0] > 0)        # training risk is optimistic with few samples


def test_fit_stays_in_ball_and_beats_zero():
    problem = make_linear_problem(m=4, d=3, noise=(0.01, 0.05), seed=2)
    X, Y = problem.sample(200, np.random.default_rng(0))
    W = fit_bmtl_linear(X, Y, T=50.0, beta=problem.beta, steps=200)
    assert np.linalg.norm(W) <= problem.beta + 1e-12
    assert np.all(task_risks(W, X, Y) < task_risks(np.zeros_like(W), X, Y))


# ------------------------------------------------------------------ plots and widget
def test_widget_updates_quickly():
    pytest.importorskip("ipywidgets")
    from bmtl_edu.widgets.bounds import bound_explorer, bound_summary

    box = bound_explorer()
    start = time.perf_counter()
    box.sliders["T"].value = 5.0
    assert time.perf_counter() - start < 1.0  # generous: CI machines are shared
    s = bound_summary(5.0, 3, 100, 0.05)
    assert s["confidence (tight)"] < s["confidence (paper)"] < s["confidence (Remark 1 as printed)"]
    assert f"{bounds.nu(5.0):.4g}" in box.children[0].children[1].value


def test_static_figures_draw():
    import matplotlib.pyplot as plt

    from bmtl_edu.figures import bounds as bound_plots

    fig = bound_plots.plot_confidence_small_multiples((1.0, 50.0))
    assert len(fig.axes) == 2
    fig2, ax = plt.subplots()
    bound_plots.plot_theorem4_vs_T(ax, [0.1, 0.3, 0.5], 0.05, 100, 0.05, T_grid=[1, 10, 100])
    bound_plots.plot_lemma1(ax, np.logspace(-3, 1, 20))
    plt.close("all")
