"""Widgets of chapters 1-4: they respond, fast, and show what the package computes.

Oracles are the SPEC §6 numbers (computed independently with NumPy) or closed forms
written here, never the widget's own output.
"""
from __future__ import annotations

import math

import numpy as np
import importlib

import pytest
import torch

from bmtl_edu.widgets.difficulty import difficulty_widget, softmax_regression, task_difficulty
from bmtl_edu.widgets.dwa import dwa_weights, dwa_widget
from bmtl_edu.widgets.maximum import descent_path, maximum_widget, two_task_losses
from bmtl_edu.widgets.weights import balancer_weights, balancer_weights_widget


FACTORIES = [
    (lambda: balancer_weights_widget(), "L2", [1.0, 3.0, 5.0, 2.5, 0.7, 4.2, 1.9]),
    (lambda: dwa_widget(), "T", [0.3, 1.0, 5.0, 20.0, 0.8, 2.5, 60.0]),
    (lambda: maximum_widget(), "theta", [-2.0, -1.0, 0.0, 0.5, 1.5, 2.2, -0.4]),
    (lambda: difficulty_widget(), "noise", [0.3, 0.7, 1.2, 1.9, 0.5, 1.0, 1.4]),
]


@pytest.mark.parametrize("factory, control, values", FACTORIES,
                         ids=["weights", "dwa", "maximum", "difficulty"])
def test_widget_responds_and_is_fast(factory, control, values, median_update_s):
    w = factory()
    demo = w.demo
    assert w is demo.widget and demo.image.value[:2] == b"\xff\xd8"  # a JPEG frame
    before_png, before_state = demo.image.value, repr(demo.state)
    demo.controls[control].value = values[0]                 # warm-up
    assert demo.image.value != before_png
    assert repr(demo.state) != before_state
    median = median_update_s(demo, control, values[1:])
    assert median < 0.1, f"median update {median:.3f} s"


def test_weights_match_spec_oracles():
    L = np.array([0.5, 2.0, 4.0])
    w = balancer_weights(L, normalise=True)
    np.testing.assert_allclose(w["ds"], [1 / 3] * 3)
    np.testing.assert_allclose(w["max"], [0, 0, 1])
    np.testing.assert_allclose(w["smax"], [0.025909, 0.116115, 0.857977], atol=1e-6)
    np.testing.assert_allclose(w["cl"], [0.344490, 0.334309, 0.321201], atol=1e-6)
    np.testing.assert_allclose(w["bmtl"], [0.322273, 0.332087, 0.345640], atol=1e-6)
    raw = balancer_weights(L, ["bmtl", "ds"], normalise=False)
    np.testing.assert_allclose(raw["bmtl"], [0.020201, 0.020816, 0.021666], atol=1e-6)
    np.testing.assert_allclose(raw["ds"], [1, 1, 1])
    # DWA at epoch 2 with Lbar(e-2) = (2, 1, 0.5), Lbar(e-1) = (1, 1, 1), T = 2 (SPEC §6.1)
    dwa = balancer_weights([1, 1, 1], ["dwa"], previous_losses=[2, 1, 0.5], normalise=False)["dwa"]
    np.testing.assert_allclose(dwa, [0.681659, 0.875268, 1.443073], atol=1e-6)


def test_weights_widget_only_loss_based_balancers_move():
    demo = balancer_weights_widget(["ds", "mgda", "bmtl"], losses=(1.0, 1.0, 1.0), T_bmtl=1.0).demo
    first = {k: v.copy() for k, v in demo.state["weights"].items()}
    demo.controls["L0"].value = 3.0
    after = demo.state["weights"]
    np.testing.assert_allclose(after["ds"], first["ds"])      # DS never sees loss levels
    np.testing.assert_allclose(after["mgda"], first["mgda"])  # MGDA sees only gradients
    assert after["bmtl"][0] > first["bmtl"][0] + 0.3          # BMTL (T=1) shifts to task 1
    # the BMTL temperature slider: larger T flattens the weights towards DS
    demo.controls["T_bmtl"].value = 100.0
    assert np.ptp(demo.state["weights"]["bmtl"]) < 0.01


def test_weights_bad_input():
    with pytest.raises(KeyError, match="valid names"):
        balancer_weights([1.0, 2.0], ["nope"])
    with pytest.raises(ValueError, match="shape"):
        balancer_weights([[1.0, 2.0]])
    with pytest.raises(ValueError, match="loss_max"):
        balancer_weights_widget(losses=(1.0, 9.0))
    demo = balancer_weights_widget(["ds"]).demo
    with pytest.raises(KeyError, match="unknown control"):
        demo.set(L9=1.0)


def test_dwa_weights_properties():
    w = dwa_weights([0.6, 0.9, 1.2], T=2.0)
    assert w.sum() == pytest.approx(3.0)
    assert w[0] < w[1] < w[2]                                  # slower descent, more weight
    np.testing.assert_allclose(dwa_weights([0.6, 0.9, 1.2], T=1e6), [1, 1, 1], atol=1e-5)
    r = np.array([0.6, 0.9, 1.2])
    expected = 3 * np.exp(r / 0.5) / np.exp(r / 0.5).sum()     # Liu et al. (2019), written out
    np.testing.assert_allclose(dwa_weights(r, T=0.5), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        dwa_weights([1.0, -1.0], T=2.0)


def test_dwa_widget_curves_follow_T():
    demo = dwa_widget(ratios=(0.6, 1.0, 1.4)).demo
    curves = demo.state["curves"]                             # (n_grid, m) over increasing T
    spread = curves.max(axis=1) - curves.min(axis=1)
    assert np.all(np.diff(spread) <= 1e-12)                    # flatter as T grows
    demo.set(T=0.1)
    assert demo.state["weights"][2] > 2.5                      # small T: nearly one-hot (sum 3)


def test_maximum_demo_bounds_and_switching():
    demo = maximum_widget(T=0.5).demo
    for theta in (-2.0, -0.6, -0.1, 0.4, 2.0):
        demo.set(theta=theta)
        L = demo.state["losses"]
        assert L.max() <= demo.state["smax_value"] <= L.max() + 0.5 * math.log(2) + 1e-12
    # the kink of max(L1, L2) with c = 0: (t+1)^2 = 0.5 (t-1)^2  =>  t = -3 + 2 sqrt(2)
    kink = -3 + 2 * math.sqrt(2)
    demo.set(theta=kink - 0.05)
    left = demo.state["max_subgradient"]
    demo.set(theta=kink + 0.05)
    right = demo.state["max_subgradient"]
    assert left < -0.5 and right > 0.5                         # the sub-gradient jumps sign


def test_descent_paths_max_oscillates_smax_converges():
    kink = -3 + 2 * math.sqrt(2)
    p_max = descent_path("max", theta0=2.0, lr=0.2, steps=40)
    active = p_max["weights"][:, 1]
    switches = int(np.abs(np.diff(active)).sum())
    assert switches >= 5                                       # keeps jumping between the tasks
    assert abs(p_max["theta"][-1] - kink) > 1e-3 or abs(p_max["theta"][-2] - kink) > 1e-3
    # the smooth objective: gradient descent settles (the last steps barely move)
    p_soft = descent_path("smax", theta0=2.0, lr=0.2, steps=60, T=1.0)
    assert abs(p_soft["theta"][-1] - p_soft["theta"][-2]) < 1e-4
    # the direct sum goes to argmin (t+1)^2 + 0.5 (t-1)^2 = -1/3, a closed form
    p_ds = descent_path("ds", theta0=2.0, lr=0.1, steps=200)
    assert p_ds["theta"][-1] == pytest.approx(-1 / 3, abs=1e-6)
    with pytest.raises(ValueError, match="steps"):
        descent_path("max", steps=0)


def test_two_task_losses_numpy_and_torch_agree():
    th = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(two_task_losses(th, 0.3), two_task_losses(torch.tensor(th), 0.3).numpy())


def test_softmax_regression_reaches_the_optimum():
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 2))
    y = (X[:, 0] + 0.8 * rng.standard_normal(120) > 0).astype(int)
    fit = softmax_regression(X, y, 2, ridge=1e-2)
    Xb = np.hstack([X, np.ones((120, 1))])

    def f(w):
        W = w.reshape(3, 2)
        return -log_softmax(Xb @ W, axis=1)[np.arange(120), y].mean() + 0.5e-2 * (W ** 2).sum()

    ref = minimize(f, np.zeros(6), method="BFGS", options={"gtol": 1e-10})
    assert f(fit["W"].ravel()) == pytest.approx(ref.fun, abs=1e-8)
    assert fit["early_loss"] < math.log(2)                     # ten steps from log 2 went down


def test_difficulty_knobs_move_the_measures():
    demo = difficulty_widget(noise=0.4).demo
    easy = demo.state["optimum_loss"][2]
    demo.set(noise=1.8)
    hard = demo.state["optimum_loss"][2]
    assert hard > easy + 0.1
    # scale changes optimisation speed, much less the optimum
    demo.set(noise=1.0, scale=1.0)
    s1 = {k: demo.state[k][2] for k in ("optimum_loss", "early_loss")}
    demo.set(scale=8.0)
    s8 = {k: demo.state[k][2] for k in ("optimum_loss", "early_loss")}
    assert abs(s8["early_loss"] - s1["early_loss"]) > 3 * abs(s8["optimum_loss"] - s1["optimum_loss"])
    # tasks 1 and 2 are untouched by task 3's knobs
    np.testing.assert_allclose(demo.state["optimum_loss"][:2], task_difficulty(demo.problem(0.4, 0, 50, 1),
                                                                                tasks=(0, 1))["optimum_loss"])


def test_animate_static_fallback():
    demo = dwa_widget().demo
    html = demo.animate("T", [0.5, 2.0, 10.0])
    assert "<script" in html and html.count("data:image/png;base64") >= 3
    with pytest.raises(KeyError, match="unknown control"):
        demo.animate("nope", [1])


def test_lazy_package_exports():
    import bmtl_edu.figures as figures
    import bmtl_edu.widgets as widgets

    assert widgets.dwa_widget is dwa_widget
    assert callable(figures.jshtml)
    with pytest.raises(AttributeError, match="available"):
        widgets.no_such_widget  # noqa: B018


@pytest.mark.parametrize("module", ["base", "difficulty", "weights", "dwa", "maximum"])
def test_exports_of_core_modules_resolve(module):
    import bmtl_edu.widgets as widgets

    names = [n for n, mod in widgets._EXPORTS.items() if mod == module]
    assert names, f"widgets/__init__ exports nothing from {module}"
    source = importlib.import_module(f"bmtl_edu.widgets.{module}")
    for name in names:
        assert getattr(widgets, name) is getattr(source, name)
