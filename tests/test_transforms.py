"""Tests of bmtl_edu.transforms: values, derivatives (vs autograd), validation, Theorem 1."""
import math

import numpy as np
import pytest
import torch

from bmtl_edu.transforms import Exp, Identity, Polynomial, Transform, check_theorem1

Z = torch.tensor([0.0, 0.3, 1.0, 2.5, 7.0], dtype=torch.float64)
TRANSFORMS = [Exp(50), Exp(0.7), Polynomial([0.5, 1.0, 0.0, 2.0]), Polynomial([0, 0, 3]), Identity()]


def test_exp_values_match_math():
    h = Exp(50)
    assert h(4.0) == pytest.approx(math.exp(4.0 / 50), rel=1e-15)
    assert h.derivative(4.0) == pytest.approx(math.exp(4.0 / 50) / 50, rel=1e-15)
    assert h.second_derivative(4.0) == pytest.approx(math.exp(4.0 / 50) / 2500, rel=1e-15)
    # SPEC 6.2: sum_i exp(L_i / 50) for L = (0.5, 2, 4)
    assert float(h(torch.tensor([0.5, 2.0, 4.0])).sum()) == pytest.approx(3.134148, abs=1e-6)


def test_polynomial_matches_numpy():
    h = Polynomial([0.5, 1.0, 0.0, 2.0])
    z = np.linspace(0, 3, 7)
    np.testing.assert_allclose(h(z), np.polyval([2.0, 0.0, 1.0, 0.5], z), rtol=1e-14)
    np.testing.assert_allclose(h.derivative(z), np.polyval([6.0, 0.0, 1.0], z), rtol=1e-14)
    np.testing.assert_allclose(h.second_derivative(z), 12.0 * z, rtol=1e-14, atol=0)


@pytest.mark.parametrize("h", TRANSFORMS, ids=repr)
def test_derivatives_agree_with_autograd(h):
    z = Z.clone().requires_grad_(True)
    v = h(z)
    assert isinstance(v, torch.Tensor) and v.shape == z.shape
    (d1,) = torch.autograd.grad(v.sum(), z, create_graph=True)
    torch.testing.assert_close(h.derivative(Z), d1.detach(), rtol=1e-12, atol=1e-12)
    if d1.requires_grad:
        (d2,) = torch.autograd.grad(d1.sum(), z)
    else:
        d2 = torch.zeros_like(Z)
    torch.testing.assert_close(h.second_derivative(Z), d2, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("h", TRANSFORMS, ids=repr)
def test_float_in_float_out_and_tensor_dtype_kept(h):
    assert isinstance(h(1.5), float) and isinstance(h.derivative(1.5), float)
    t = torch.tensor([1.5], dtype=torch.float32)
    assert h(t).dtype == torch.float32
    assert h(1.5) == pytest.approx(float(h(torch.tensor(1.5, dtype=torch.float64))))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "50", True])
def test_exp_rejects_bad_temperature(bad):
    with pytest.raises(ValueError, match="T must be"):
        Exp(bad)


@pytest.mark.parametrize("bad, msg", [([1.0, -0.5], "c_1"), ([0.0, 0.0], "all be zero"), ([], "empty"),
                                      ([1.0, float("nan")], "finite"), ("ab", "coeffs"), (3, "sequence")])
def test_polynomial_rejects_bad_coefficients(bad, msg):
    with pytest.raises(ValueError, match=msg):
        Polynomial(bad)


def test_reprs():
    assert repr(Exp(50)) == "Exp(T=50)"
    assert repr(Polynomial([1, 2])) == "Polynomial(coeffs=[1.0, 2.0])"
    assert repr(Identity()) == "Identity()"


def test_theorem1_exp_and_polynomials_pass():
    for h in (Exp(50), Exp(0.1), Polynomial([0, 1, 1]), Polynomial([0, 1, 0, 1])):
        rep = check_theorem1(h)
        assert rep.ok, str(rep)
        assert rep.convex


def test_theorem1_identity_fails_only_strict_increase():
    rep = check_theorem1(Identity())
    assert not rep.ok
    failed = [k for k, v in rep.conditions.items() if not v]
    assert failed == ["h' strictly increasing"]
    assert "\u2717 h' strictly increasing" in str(rep)
    assert "NOT satisfied" in str(rep)


def test_theorem1_strong_convexity_erratum():
    # h(z) = z + z^3 meets Theorem 1's requirements but h''(0) = 0: convex, not strongly
    rep = check_theorem1(Polynomial([0, 1, 0, 1]))
    assert rep.ok and rep.convex and not rep.strongly_convex
    assert rep.min_second_derivative == pytest.approx(0.0, abs=1e-12)
    rep = check_theorem1(Exp(50), upper=1.0)
    assert rep.strongly_convex
    assert rep.min_second_derivative == pytest.approx(1 / 50 ** 2, rel=1e-9)


def test_theorem1_user_callables_by_autograd():
    rep = check_theorem1(lambda z: torch.log1p(z))  # concave: h' decreasing
    assert not rep.ok
    assert not rep.conditions["h' non-decreasing"] and rep.conditions["h non-decreasing"]
    assert not rep.convex
    rep = check_theorem1(lambda z: z ** 2 + 1.0, upper=3.0)
    assert rep.ok and rep.strongly_convex
    assert rep.min_second_derivative == pytest.approx(2.0)
    rep = check_theorem1(lambda z: z - 1.0)
    assert not rep.conditions["h(0) >= 0"]
    rep = check_theorem1(lambda z: -z)
    assert not rep.conditions["h'(0) >= 0"] and not rep.conditions["h non-decreasing"]


def test_theorem1_report_is_readable():
    text = str(check_theorem1(Exp(50)))
    assert text.splitlines()[0].startswith("Theorem 1 check of Exp(T=50)")
    assert "\u2713 h(0) >= 0" in text and "strongly convex" in text


def test_theorem1_bad_arguments():
    with pytest.raises(ValueError, match="callable"):
        check_theorem1(3.0)
    with pytest.raises(ValueError, match="upper"):
        check_theorem1(Exp(), upper=0)
    with pytest.raises(ValueError, match="n_points"):
        check_theorem1(Exp(), n_points=2)
    with pytest.raises(ValueError, match="same shape"):
        check_theorem1(lambda z: z.sum())


def test_base_is_abstract_enough():
    assert isinstance(Exp(), Transform)
    with pytest.raises(NotImplementedError):
        Transform()(1.0)
