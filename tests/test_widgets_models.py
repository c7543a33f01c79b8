"""The models chapter's factorisation widget: it responds, fast, and reports what DMTRL does.

Oracles: closed forms written here (parameter counts from the factor shapes, the eps rank rule
applied to singular values computed with NumPy, Eckart-Young for LAF), never the widget's own
output.
"""
from __future__ import annotations


import numpy as np
import pytest
import torch

from bmtl_edu.widgets.models import factorisation_widget, head_factorisation, related_heads


@pytest.fixture(scope="module")
def demo():
    return factorisation_widget().demo


@pytest.mark.parametrize("control, values", [
    ("eps", [0.01, 0.3, 0.002, 0.05, 0.6, 0.02, 0.15]),
    ("max_task_rank", [1, 4, 2, 3, 1, 4, 2]),
    ("factorization", ["tt", "laf", "tucker", "laf", "tt", "tucker", "laf"]),
])
def test_widget_responds_and_is_fast(demo, control, values, median_update_s):
    assert demo.widget.demo is demo and demo.image.value[:2] == b"\xff\xd8"  # a JPEG frame
    before_img, before_state = demo.image.value, repr(demo.state)
    demo.controls[control].value = values[0]  # warm-up, and a change from the fixture's state
    assert demo.image.value != before_img
    assert repr(demo.state) != before_state
    median = median_update_s(demo, control, values[1:])
    assert median < 0.1, f"median update {median:.3f} s"


def test_task_rank_follows_eps_rule_and_cap():
    W = related_heads()
    m = W.shape[0]
    s = np.linalg.svd(W.numpy().reshape(m, -1), compute_uv=False)  # task-mode unfolding (m, C*H)
    for eps in (0.005, 0.05, 0.5):
        by_rule = int((s > eps * s[0]).sum())
        for cap in range(1, m + 1):
            for f in ("tucker", "laf"):
                assert head_factorisation(W, f, eps, cap)["task_rank"] == min(by_rule, cap)


def test_laf_error_and_parameters_match_closed_forms():
    W = related_heads(n_tasks=5, n_classes=3, hidden=10, noise=0.3, seed=1)
    m, C, H = W.shape
    M = W.numpy().reshape(m, -1)
    s = np.linalg.svd(M, compute_uv=False)
    for K in range(1, m + 1):
        # eps just above sigma_{K+1}/sigma_1 keeps exactly K values (cap = m disables capping)
        eps = float(s[K] / s[0]) * 1.0001 if K < m else 1e-9
        res = head_factorisation(W, "laf", eps, m)
        assert res["ranks"] == (K,)
        assert res["n_params"] == H * C * K + K * m
        eckart_young = np.sqrt((s[K:] ** 2).sum()) / np.linalg.norm(M)
        assert res["rel_error"] == pytest.approx(eckart_young, abs=1e-10)
    assert head_factorisation(W, "laf", 1e-9, m)["rel_error"] < 1e-12  # K = m: no sharing at all


def test_parameter_counts_of_tucker_and_tt_from_ranks():
    W = related_heads()
    m, C, H = W.shape
    for eps in (0.003, 0.1, 0.7):
        K1, K2, K3 = head_factorisation(W, "tucker", eps)["ranks"]
        assert head_factorisation(W, "tucker", eps)["n_params"] == K1 * K2 * K3 + H * K1 + C * K2 + m * K3
        r1, r2 = head_factorisation(W, "tt", eps)["ranks"]
        assert head_factorisation(W, "tt", eps)["n_params"] == H * r1 + r1 * C * r2 + r2 * m


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="3-D"):
        head_factorisation(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="NaN"):
        head_factorisation(torch.full((2, 3, 4), float("nan")))
    with pytest.raises(KeyError, match="valid: tucker, tt, laf"):
        head_factorisation(related_heads(), "cp")
    with pytest.raises(ValueError, match="eps"):
        head_factorisation(related_heads(), "tt", 1.5)
    with pytest.raises(ValueError, match="max_task_rank"):
        factorisation_widget(max_task_rank=9)
