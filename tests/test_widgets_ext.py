"""Widgets and figures of chapters 5-7 (curriculum, multi-objective, BMTL).

Oracles are SPEC §6 numbers or closed forms written here (softmax, hull geometry), never
the widget's own output.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bmtl_edu.data import make_toy_problem
from bmtl_edu.figures.side_by_side import (plot_side_by_side, side_by_side_jshtml, train_side_by_side,
                                           weight_shares)
from bmtl_edu.transforms import Exp, Polynomial
from bmtl_edu.widgets.curriculum import curriculum_shares, curriculum_widget, pace_schedule
from bmtl_edu.widgets.geometry import gradients_from_polar, min_norm_geometry, min_norm_widget
from bmtl_edu.widgets.transforms import CONDITIONS, make_transform, transform_widget


FACTORIES = [
    (lambda: curriculum_widget(), "T", [0.3, 0.5, 2.0, 5.0, 0.8, 20.0, 1.5]),
    (lambda: curriculum_widget(), "L1", [0.1, 1.0, 2.0, 4.0, 3.3, 0.6, 2.7]),
    (lambda: min_norm_widget(), "a3", [120.0, -135.0, 30.0, 170.0, -60.0, 90.0, 0.0]),
    (lambda: min_norm_widget(), "fw_steps", [5, 10, 20, 1, 15, 0, 7]),
    (lambda: transform_widget(), "T", [0.3, 0.8, 3.0, 10.0, 0.5, 40.0, 2.0]),
    (lambda: transform_widget(), "family", ["polynomial", "identity", "log1p", "exp", "polynomial",
                                            "log1p", "identity"]),
]


@pytest.mark.parametrize("factory, control, values", FACTORIES,
                         ids=["curriculum-T", "curriculum-L1", "geometry-angle", "geometry-fw",
                              "transforms-T", "transforms-family"])
def test_widget_responds_and_is_fast(factory, control, values, median_update_s):
    w = factory()
    demo = w.demo
    assert w is demo.widget and demo.image.value[:2] == b"\xff\xd8"  # a JPEG frame
    before_img, before_state = demo.image.value, repr(demo.state)
    demo.controls[control].value = values[0]
    assert demo.image.value != before_img
    assert repr(demo.state) != before_state
    median = median_update_s(demo, control, values[1:])
    assert median < 0.1, f"median update {median:.3f} s"


# ---------------------------------------------------------------- curriculum (ch. 5)
def test_curriculum_shares_are_opposite_softmaxes():
    L = np.array([0.5, 2.0, 4.0])
    s = curriculum_shares(L, T=1.0)
    e = np.exp(-L)
    np.testing.assert_allclose(s["cl"], e / e.sum(), rtol=1e-12)
    e = np.exp(L)
    np.testing.assert_allclose(s["bmtl"], e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(s["ds"], [1 / 3] * 3)
    # SPEC §6.2: CL with T_cl = 1
    np.testing.assert_allclose(s["cl"], [0.797876, 0.178030, 0.024094], atol=1e-6)
    assert np.all(np.diff(s["cl"]) < 0) and np.all(np.diff(s["bmtl"]) > 0)


def test_pace_schedule_anneals_towards_uniform():
    L = [0.5, 2.0, 4.0]
    sched = pace_schedule(L, T=1.0, anneal_factor=2.0, epochs=6)
    assert sched.shape == (6, 3)
    for e, row in enumerate(sched):
        T = 2.0 ** e
        ref = np.exp(-np.array(L) / T)
        np.testing.assert_allclose(row, ref / ref.sum(), rtol=1e-12)
    assert sched[-1].max() - sched[-1].min() < sched[0].max() - sched[0].min()
    np.testing.assert_allclose(pace_schedule(L, 1.0, 1.0, 3), np.repeat(sched[:1], 3, axis=0))


def test_curriculum_bad_input():
    with pytest.raises(ValueError, match="T"):
        curriculum_shares([1.0, 2.0], T=-1.0)
    with pytest.raises(ValueError, match="1-D"):
        curriculum_shares([[1.0, 2.0]], T=1.0)
    with pytest.raises(ValueError, match="epochs"):
        pace_schedule([1.0], 1.0, 1.1, 0)
    with pytest.raises(ValueError, match="three tasks"):
        curriculum_widget(losses=(1.0, 2.0))


# ------------------------------------------------------------------ geometry (ch. 6)
def test_min_norm_geometry_spec_oracles():
    g = min_norm_geometry([[1.0, 0.0], [0.0, 2.0]])        # SPEC §6.3
    np.testing.assert_allclose(g["alpha"], [0.8, 0.2], atol=1e-12)
    np.testing.assert_allclose(g["point"], [0.8, 0.4], atol=1e-12)
    assert g["norm2"] == pytest.approx(0.8) and not g["stationary"]
    g = min_norm_geometry([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    np.testing.assert_allclose(g["alpha"], [1 / 3] * 3, atol=1e-9)
    assert g["stationary"] and g["norm2"] < 1e-12
    g = min_norm_geometry([[3.0, 1.0], [1.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(g["alpha"], [0, 1, 0], atol=1e-12)
    assert g["norm2"] == pytest.approx(5.0)


def test_min_norm_point_is_the_closest_hull_point_and_satisfies_kkt():
    rng = np.random.default_rng(0)
    for _ in range(5):
        G = rng.normal(size=(3, 2)) + np.array([2.0, 0.0])   # origin usually outside the hull
        geo = min_norm_geometry(G)
        v = geo["point"]
        # brute force over a fine grid of the simplex
        a = np.linspace(0, 1, 201)
        A = np.array([(x, y, 1 - x - y) for x in a for y in a if x + y <= 1 + 1e-12])
        best = np.min(np.sum((A @ G) ** 2, axis=1))
        assert geo["norm2"] <= best + 1e-12 and geo["norm2"] >= best - 1e-3
        assert np.all(G @ v >= geo["norm2"] - 1e-9)            # KKT: hull beyond the support line


def test_frank_wolfe_path_starts_uniform_and_descends():
    G = gradients_from_polar([1.0, 2.0, 1.5], [10.0, 80.0, 155.0])
    geo = min_norm_geometry(G, fw_steps=12)
    assert geo["fw_alpha"].shape == (13, 3) and geo["fw_points"].shape == (13, 2)
    np.testing.assert_allclose(geo["fw_alpha"][0], [1 / 3] * 3)
    np.testing.assert_allclose(geo["fw_alpha"].sum(axis=1), 1.0)
    assert np.all(np.diff(geo["fw_norm2"]) <= 1e-12)           # exact line search: monotone
    assert np.all(geo["fw_norm2"] >= geo["norm2"] - 1e-12)


def test_gradients_from_polar_and_errors():
    np.testing.assert_allclose(gradients_from_polar([2.0, 1.0], [0.0, 90.0]), [[2, 0], [0, 1]], atol=1e-15)
    with pytest.raises(ValueError, match="norms"):
        gradients_from_polar([-1.0], [0.0])
    with pytest.raises(ValueError, match="shape"):
        min_norm_geometry([1.0, 2.0])
    with pytest.raises(ValueError, match="nan"):
        min_norm_geometry([[np.nan, 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="fw_steps"):
        min_norm_geometry([[1.0, 0.0]], fw_steps=-1)


def test_geometry_widget_two_tasks_hides_task_three():
    demo = min_norm_widget(norms=(1.0, 2.0, 1.0), angles=(0.0, 90.0, 180.0)).demo
    demo.set(three=False)
    np.testing.assert_allclose(demo.state["alpha"], [0.8, 0.2], atol=1e-12)
    assert len(demo.arrows[2].get_xdata()) == 0
    demo.set(three=True)  # g3 = -g1: the origin lies on the hull's edge [g1, g3]
    assert demo.state["stationary"] and len(demo.state["alpha"]) == 3
    np.testing.assert_allclose(demo.state["alpha"] @ demo.state["grads"], 0.0, atol=1e-12)


# ---------------------------------------------------------------- transforms (ch. 7)
def test_transform_widget_reports_theorem1():
    demo = transform_widget(family="exp", T=1.0).demo
    assert demo.state["passed"] == [True] * len(CONDITIONS)
    demo.set(family="polynomial", c1=1.0, c2=0.0, c3=1.0)     # z + z^3: the erratum's example
    p = dict(zip(CONDITIONS, demo.state["passed"]))
    assert p["h' strictly increasing"] and p["convex"] and not p["strongly convex"]
    demo.set(family="identity")
    p = dict(zip(CONDITIONS, demo.state["passed"]))
    assert not p["h' strictly increasing"] and p["h non-decreasing"]
    demo.set(family="log1p")
    p = dict(zip(CONDITIONS, demo.state["passed"]))
    assert not p["convex"] and p["h non-decreasing"]
    demo.set(family="polynomial", c1=0.0, c2=0.0, c3=0.0)
    assert demo.state["report"] is None and "invalid" in demo.caption


def test_transform_curves_are_scaled_closed_forms():
    demo = transform_widget(family="exp", T=2.0, upper=4.0).demo
    z, y = demo.lines[0].get_data()
    np.testing.assert_allclose(y, np.exp(z / 2.0) / math.exp(2.0), rtol=1e-12)
    z, y = demo.lines[1].get_data()
    np.testing.assert_allclose(y, np.exp(z / 2.0) / math.exp(2.0), rtol=1e-12)  # h'/max h'
    assert demo.state["scales"][1] == pytest.approx(math.exp(2.0) / 2.0)


def test_make_transform_families_and_errors():
    assert isinstance(make_transform("exp", T=3.0), Exp)
    assert isinstance(make_transform("polynomial", c1=1.0, c2=2.0, c3=0.0), Polynomial)
    assert float(make_transform("log1p")(torch.tensor(math.e - 1))) == pytest.approx(1.0)
    with pytest.raises(KeyError, match="valid"):
        make_transform("cosh")
    with pytest.raises(ValueError, match="T"):
        make_transform("exp", T=0.0)
    with pytest.raises(ValueError, match="upper"):
        transform_widget(upper=50.0)


# --------------------------------------------------------------- side by side (ch. 7)
@pytest.fixture(scope="module")
def histories():
    torch.set_num_threads(1)  # tiny models: threading overhead dominates on 2 cores
    data = make_toy_problem(n_tasks=3, n_classes=None, dim=4, scale=(1.0, 3.0, 6.0), n_samples=60, seed=0)
    return train_side_by_side(data, epochs=4, hidden=16)


def test_side_by_side_trains_every_balancer_from_one_init(histories):
    assert list(histories) == ["ds", "dwa", "max", "smax", "cl", "mgda", "bmtl"]
    first = {k: h.train_loss[0] for k, h in histories.items()}
    # DS and CL (T = 50) differ only in a near-uniform rescaling: same start, similar epoch 0
    assert first["ds"] == pytest.approx(first["cl"], rel=0.05)
    for h in histories.values():
        assert len(h.train_loss) == 4 and len(h.weights[0]) == 3
    # BMTL's shares are softmax(L/T)-like: the hardest (largest-loss) task gets the largest share
    shares = weight_shares(histories["bmtl"])
    L = np.asarray(histories["bmtl"].train_loss)
    assert np.all(np.argmax(shares, axis=1) == np.argmax(L, axis=1))
    np.testing.assert_allclose(weight_shares(histories["ds"]), 1 / 3)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_side_by_side_figures(histories):
    fig = plot_side_by_side(histories, title="test")
    assert len(fig.axes) == 14
    html = side_by_side_jshtml({k: histories[k] for k in ("ds", "bmtl")}, n_frames=2)
    assert "<script" in html and "animation" in html.lower()
    with pytest.raises(ValueError, match="n_frames"):
        side_by_side_jshtml(histories, n_frames=0)
    with pytest.raises(KeyError, match="valid names"):
        train_side_by_side(make_toy_problem(n_samples=20, seed=0), names=["nope"])
