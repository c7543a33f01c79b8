"""Tests of bmtl_edu.models.tensor against SPEC §2.0, §6.4 and §6.5 (independent NumPy oracles)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bmtl_edu.models.tensor import (fold, hosvd, laf_svd, laf_to_tensor, mode_product,
                                    nuclear_norm, select_rank, tensor_trace_norms, truncated_svd,
                                    tt_svd, tt_to_tensor, tucker_to_tensor, unfold)


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape))


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


# -- unfoldings and products (SPEC §2.0) ----------------------------------------------------------
def test_unfold_index_formulas():
    D1, D2, D3 = 2, 3, 4
    A = torch.arange(24.0).reshape(D1, D2, D3)
    U0, U1, U2 = unfold(A, 0), unfold(A, 1), unfold(A, 2)
    assert U0.shape == (2, 12) and U1.shape == (3, 8) and U2.shape == (4, 6)
    for a in range(D1):
        for b in range(D2):
            for c in range(D3):
                assert U0[a, b * D3 + c] == A[a, b, c]
                assert U1[b, a * D3 + c] == A[a, b, c]
                assert U2[c, a * D2 + b] == A[a, b, c]


@pytest.mark.parametrize("k", [0, 1, 2])
def test_fold_inverts_unfold(k):
    A = rand(3, 4, 5)
    assert torch.equal(fold(unfold(A, k), k, A.shape), A)


def test_mode_products_match_einsum_and_kronecker():
    A, P, Q, R = rand(3, 4, 2, seed=1), rand(5, 3, seed=2), rand(6, 4, seed=3), rand(2, 2, seed=4)
    T = mode_product(mode_product(mode_product(A, P, 0), Q, 1), R, 2)
    ref = np.einsum("ijk,ai,bj,ck->abc", A.numpy(), P.numpy(), Q.numpy(), R.numpy())
    np.testing.assert_allclose(T.numpy(), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tucker_to_tensor(A, [P, Q, R]).numpy(), ref, rtol=1e-12, atol=1e-12)
    kron = np.kron(np.kron(P.numpy(), Q.numpy()), R.numpy())
    np.testing.assert_allclose(T.numpy().ravel(), kron @ A.numpy().ravel(), rtol=1e-10, atol=1e-10)


def test_tt_contraction_matches_einsum():
    G1, G2, G3 = rand(1, 4, 3, seed=5), rand(3, 5, 2, seed=6), rand(2, 3, 1, seed=7)
    ref = np.einsum("xai,ibj,jcy->abc", G1.numpy(), G2.numpy(), G3.numpy())
    np.testing.assert_allclose(tt_to_tensor([G1, G2, G3]).numpy(), ref, rtol=1e-12, atol=1e-12)


def test_bad_shapes_raise_clear_errors():
    A = rand(2, 3, 4)
    with pytest.raises(ValueError, match="axis"):
        unfold(A, 3)
    with pytest.raises(ValueError, match="mode-1 product"):
        mode_product(A, rand(5, 4), 1)
    with pytest.raises(ValueError, match="factors"):
        tucker_to_tensor(A, [rand(2, 2)])
    with pytest.raises(ValueError, match="r_0"):
        tt_to_tensor([rand(2, 4, 3), rand(3, 5, 1)])
    with pytest.raises(ValueError, match="LAF"):
        laf_to_tensor(rand(6, 2), rand(3, 4), (2, 3, 4))
    with pytest.raises(ValueError, match="NaN"):
        truncated_svd(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), 0.1)
    with pytest.raises(KeyError, match="tucker, tt, laf"):
        tensor_trace_norms(A, "cp")


# -- decompositions (SPEC §6.4) ---------------------------------------------------------------------
def test_full_rank_decompositions_reconstruct_exactly():
    W0 = rand(20, 6, 3, seed=11)
    core, factors = hosvd(W0, 1e-12)
    assert list(core.shape) == [18, 6, 3]
    assert rel_err(tucker_to_tensor(core, factors), W0) < 1e-12
    cores = tt_svd(W0, 1e-12)
    assert [cores[0].shape[2], cores[1].shape[2]] == [18, 3]
    assert rel_err(tt_to_tensor(cores), W0) < 1e-12
    L, S = laf_svd(W0, 1e-12)
    assert L.shape[1] == 3
    assert rel_err(laf_to_tensor(L, S, W0.shape), W0) < 1e-12
    # explicit full ranks give the same
    core, factors = hosvd(W0, [18, 6, 3])
    assert rel_err(tucker_to_tensor(core, factors), W0) < 1e-12
    assert rel_err(tt_to_tensor(tt_svd(W0, [18, 3])), W0) < 1e-12


@pytest.mark.parametrize("eps", [1e-12, 0.1, 0.5])
def test_rank_one_task_structure_is_found(eps):
    A = rand(20, 6, seed=12)
    c = torch.tensor([0.5, -2.0, 1.5], dtype=A.dtype)
    W0 = A[:, :, None] * c  # W0[:, :, t] = c_t A
    L, S = laf_svd(W0, eps)
    assert L.shape[1] == 1
    assert rel_err(laf_to_tensor(L, S, W0.shape), W0) < 1e-12
    core, _ = hosvd(W0, eps)
    assert core.shape[2] == 1
    cores = tt_svd(W0, eps)
    assert cores[1].shape[2] == 1
    if eps == 1e-12:  # modes 1-2 not truncated: exact
        assert rel_err(tt_to_tensor(cores), W0) < 1e-12


def test_per_task_slices():
    W0 = rand(20, 6, 3, seed=13)
    G1, G2, G3 = tt_svd(W0, 1e-12)
    core, (U1, U2, U3) = hosvd(W0, 1e-12)
    for t in range(3):
        tt_slice = torch.einsum("ap,pbq,q->ab", G1[0], G2, G3[:, t, 0])
        assert rel_err(tt_slice, W0[:, :, t]) < 1e-12
        tucker_slice = U1 @ torch.einsum("k,ijk->ij", U3[t], core) @ U2.T
        assert rel_err(tucker_slice, W0[:, :, t]) < 1e-12


def test_truncation_error_matches_dropped_singular_values():
    M = rand(30, 8, seed=14)
    s_all = np.linalg.svd(M.numpy(), compute_uv=False)
    U, s, Vh = truncated_svd(M, 3)
    err = np.linalg.norm(M.numpy() - ((U * s) @ Vh).numpy())
    assert err == pytest.approx(np.sqrt((s_all[3:] ** 2).sum()), rel=1e-10)


def test_rank_rule_and_monotonicity():
    s = torch.tensor([10.0, 5.0, 1.0, 0.5, 0.01])
    assert select_rank(s, 0.01) == 4       # 0.01 * 10 = 0.1: keeps 10, 5, 1, 0.5
    assert select_rank(s, 0.06) == 3
    assert select_rank(s, 0.2) == 2
    assert select_rank(s, 0.9) == 1
    assert select_rank(s, 0.01, max_rank=2) == 2
    assert select_rank(s, 3) == 3
    M = rand(40, 12, seed=15)
    ranks = [truncated_svd(M, e)[0].shape[1] for e in np.linspace(0.01, 0.99, 30)]
    assert all(a >= b for a, b in zip(ranks, ranks[1:])) and ranks[0] > ranks[-1]
    with pytest.raises(ValueError, match="outside"):
        select_rank(s, 6)
    with pytest.raises(ValueError, match="exceeds"):
        truncated_svd(M, 13)
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        select_rank(s, 1.5)
    with pytest.raises(ValueError):
        select_rank(s, True)


# -- nuclear and trace norms (SPEC §6.5) ------------------------------------------------------------
def test_nuclear_norm_value_and_subgradient():
    assert float(nuclear_norm(torch.diag(torch.tensor([3.0, 4.0])))) == pytest.approx(7.0)
    X = rand(5, 3, seed=21).requires_grad_(True)
    nuclear_norm(X).backward()
    U, _, Vh = np.linalg.svd(X.detach().numpy(), full_matrices=False)
    np.testing.assert_allclose(X.grad.numpy(), U @ Vh, atol=1e-10)
    E = rand(5, 3, seed=22)
    h = 1e-6
    Xd = X.detach()
    fd = (float(nuclear_norm(Xd + h * E)) - float(nuclear_norm(Xd - h * E))) / (2 * h)
    assert fd == pytest.approx(float((X.grad * E).sum()), rel=1e-6)
    for seed in range(5):  # sub-gradient inequality
        Y = rand(5, 3, seed=30 + seed)
        assert float(nuclear_norm(Y)) >= float(nuclear_norm(Xd) + (X.grad * (Y - Xd)).sum()) - 1e-12


def test_nuclear_norm_gradient_is_finite_at_repeated_singular_values():
    X = torch.eye(4, dtype=torch.float64).requires_grad_(True)
    nuclear_norm(X).backward()
    assert torch.isfinite(X.grad).all()
    assert torch.allclose(X.grad, torch.eye(4, dtype=torch.float64))


def test_trace_norm_oracles():
    W = torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4)  # D1=2, D2=3, m=4
    tucker = tensor_trace_norms(W, "tucker")
    np.testing.assert_allclose(tucker.numpy(), [72.925929, 72.669076, 68.487999], atol=1e-6)
    assert float(tucker.sum()) == pytest.approx(214.083005, abs=1e-6)
    assert float(tucker.mean()) == pytest.approx(71.361002, abs=1e-6)
    tt = tensor_trace_norms(W, "tt")
    assert float(tt.sum()) == pytest.approx(141.413928, abs=1e-6)
    assert float(tt.mean()) == pytest.approx(70.706964, abs=1e-6)
    laf = tensor_trace_norms(W, "laf")
    assert float(laf.sum()) == pytest.approx(68.487999, abs=1e-6)
    assert float(tt[1]) == pytest.approx(float(laf[0]), rel=1e-12)  # TT's k=2 term is LAF's
