"""Tests of bmtl_edu.balancers: SPEC §6.1-6.3 oracles, autograd identities, MGDA backward,
serialisation and every kind of bad input."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from bmtl_edu.balancers import BALANCERS, make_balancer
from bmtl_edu.balancers.min_norm import exact
from bmtl_edu.transforms import Exp, Identity, Polynomial

L3 = (0.5, 2.0, 4.0)
LOSS_BASED = {
    "ds": {}, "dwa": {}, "max": {}, "smax": {}, "smax_T3": {"T": 3.0}, "cl": {}, "cl_T1_m": {"T": 1.0, "scale_to_m": True},
    "bmtl": {}, "bmtl_T2": {"h": Exp(2.0)}, "bmtl_poly": {"h": Polynomial([0.1, 1.0, 0.5])},
    "bmtl_rescale": {"rescale": True}, "bmtl_identity": {"h": Identity()},
}


def build(key):
    return make_balancer(key.split("_")[0], **LOSS_BASED[key])


def losses(vals=L3, dtype=torch.float64):
    return torch.tensor(vals, dtype=dtype, requires_grad=True)


def dwa_after(*epochs, **kw):
    b = make_balancer("dwa", **kw)
    for e in epochs:
        b.end_epoch(torch.tensor(e, dtype=torch.float64))
    return b


# ------------------------------------------------------------------ SPEC 6.1 DWA
def test_dwa_first_two_epochs_are_ones():
    b = make_balancer("dwa")
    for _ in range(2):
        assert b.weights(losses()).tolist() == [1.0, 1.0, 1.0]
        b.end_epoch(torch.tensor([3.0, 1.0, 2.0]))
    assert b.weights(losses()).tolist() != [1.0, 1.0, 1.0]


def test_dwa_spec_values():
    # history order: e-2 first, then e-1
    w = dwa_after((2.0, 1.0, 0.5), (1.0, 1.0, 1.0)).weights(losses())
    np.testing.assert_allclose(w.numpy(), [0.681659, 0.875268, 1.443073], atol=1e-6)
    assert float(w.sum()) == pytest.approx(3.0, abs=1e-12)
    w = dwa_after((1.0, 4.0, 6.0), (0.5, 2.0, 3.0)).weights(losses())
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0, 1.0], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.05, 10.0), min_size=2, max_size=6), st.data())
def test_dwa_sum_and_monotone(prev2, data):
    prev = data.draw(st.lists(st.floats(0.05, 10.0), min_size=len(prev2), max_size=len(prev2)))
    w = dwa_after(prev2, prev).weights(losses([1.0] * len(prev))).numpy()
    assert w.sum() == pytest.approx(len(prev), rel=1e-12)
    r = np.array(prev) / np.array(prev2)
    order = np.argsort(r, kind="stable")
    assert (np.diff(w[order]) >= -1e-12).all()  # larger descent ratio, larger weight


def test_dwa_large_temperature_is_uniform_and_loss_uses_weights():
    b = dwa_after((2.0, 1.0, 0.5), (1.0, 1.0, 1.0), T=1e9)
    np.testing.assert_allclose(b.weights(losses()).numpy(), [1, 1, 1], atol=1e-8)
    b = dwa_after((2.0, 1.0, 0.5), (1.0, 1.0, 1.0))
    L = losses()
    assert float(b.loss(L).detach()) == pytest.approx(float((b.weights(L) * L.detach()).sum()))


# ------------------------------------------------------------ SPEC 6.2 (L = 0.5, 2, 4)
def test_max_oracle_and_lowest_index_ties():
    b = make_balancer("max")
    assert b.weights(losses()).tolist() == [0.0, 0.0, 1.0]
    L = losses((1.0, 1.0, 0.2))
    assert b.weights(L).tolist() == [1.0, 0.0, 0.0]
    b.loss(L).backward()
    assert L.grad.tolist() == [1.0, 0.0, 0.0]


def test_smax_oracle():
    b = make_balancer("smax")
    L = losses()
    assert float(b.loss(L).detach()) == pytest.approx(4.153178, abs=1e-6)
    assert max(L3) <= float(b.loss(L).detach()) <= max(L3) + math.log(3)
    np.testing.assert_allclose(b.weights(L).numpy(), [0.025909, 0.116115, 0.857977], atol=1e-6)


def test_cl_oracle():
    L = losses()
    t1 = make_balancer("cl", T=1.0).weights(L).numpy()
    np.testing.assert_allclose(t1, [0.797876, 0.178030, 0.024094], atol=1e-6)
    t50 = make_balancer("cl").weights(L).numpy()
    np.testing.assert_allclose(t50, [0.344490, 0.334309, 0.321201], atol=1e-6)
    for t in (t1, t50):
        assert t.sum() == pytest.approx(1.0) and (np.diff(t) < 0).all()
    assert make_balancer("cl", scale_to_m=True).weights(L).sum() == pytest.approx(3.0)


def test_cl_annealing_raises_temperature():
    b = make_balancer("cl", T=1.0, anneal_factor=10.0)
    w0 = b.weights(losses()).numpy()
    b.end_epoch(torch.tensor(L3))
    w1 = b.weights(losses()).numpy()
    assert b.current_T == 10.0 and w1.max() < w0.max()


def test_bmtl_oracle():
    b = make_balancer("bmtl")
    L = losses()
    assert float(b.loss(L).detach()) == pytest.approx(3.134148, abs=1e-6)
    w = b.weights(L).numpy()
    np.testing.assert_allclose(w, [0.020201, 0.020816, 0.021666], atol=1e-6)
    np.testing.assert_allclose(w / w.sum(), [0.322273, 0.332087, 0.345640], atol=1e-6)
    assert w[2] / w[0] == pytest.approx(math.exp((4.0 - 0.5) / 50), rel=1e-12)
    wr = make_balancer("bmtl", rescale=True).weights(L).numpy()
    np.testing.assert_allclose(wr, 50 * w, rtol=1e-12)


def test_bmtl_temperature_limits():
    L = losses()
    hot = make_balancer("bmtl", h=Exp(1e6)).weights(L)
    np.testing.assert_allclose((hot / hot.sum()).numpy(), [1 / 3] * 3, atol=1e-5)
    cold = make_balancer("bmtl", h=Exp(0.05)).weights(L)
    np.testing.assert_allclose((cold / cold.sum()).numpy(), [0, 0, 1], atol=1e-12)


# ------------------------------------------------------------------ autograd identities
@pytest.mark.parametrize("key", list(LOSS_BASED))
def test_weights_equal_autograd_of_loss(key):
    b = build(key)
    if key.startswith("dwa"):
        b.end_epoch(torch.tensor([2.0, 1.0, 0.5]))
        b.end_epoch(torch.tensor([1.0, 1.0, 1.0]))
    L = losses((0.7, 1.9, 3.3))
    (g,) = torch.autograd.grad(b.loss(L), L)
    torch.testing.assert_close(b.weights(L), g, rtol=1e-12, atol=1e-14)
    assert not b.weights(L).requires_grad


def _tiny_problem(seed=0, m=3):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    heads = torch.randn(m, 4, generator=g, dtype=torch.float64, requires_grad=True)
    X = [torch.randn(6, 5, generator=g, dtype=torch.float64) for _ in range(m)]
    Y = [torch.randn(6, generator=g, dtype=torch.float64) * (t + 1) for t in range(m)]

    def task_losses():
        reps = [torch.tanh(x @ W.T) for x in X]
        L = torch.stack([((z @ heads[t] - y) ** 2).mean() for t, (z, y) in enumerate(zip(reps, Y))])
        return L, reps
    return W, heads, task_losses


@pytest.mark.parametrize("key", list(LOSS_BASED))
def test_backward_gradient_is_weighted_sum_of_task_gradients(key):
    W, heads, task_losses = _tiny_problem()
    b = build(key)
    L, _ = task_losses()
    per_task = [torch.autograd.grad(L[t], (W, heads), retain_graph=True) for t in range(3)]
    extra = 0.1 * W.square().sum()
    w = b.backward(L, [W], extra)
    expect_W = sum(w[t] * per_task[t][0] for t in range(3)) + 0.2 * W.detach()
    torch.testing.assert_close(W.grad, expect_W, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(heads.grad, sum(w[t] * per_task[t][1] for t in range(3)))


def test_bmtl_gradient_is_sum_of_h_prime_times_task_gradients():
    W, heads, task_losses = _tiny_problem(seed=3)
    for h in (Exp(50), Exp(1.5), Polynomial([0, 1, 2])):
        L, _ = task_losses()
        grads = [torch.autograd.grad(L[t], W, retain_graph=True)[0] for t in range(3)]
        J = make_balancer("bmtl", h=h).loss(L)
        (gJ,) = torch.autograd.grad(J, W)
        hp = [h.derivative(float(L[t].detach())) for t in range(3)]  # h' evaluated independently
        torch.testing.assert_close(gJ, sum(hp[t] * grads[t] for t in range(3)), rtol=1e-10, atol=1e-14)


def test_bmtl_direction_is_temperature_logsumexp():
    W, heads, task_losses = _tiny_problem(seed=4)
    T = 50.0
    L, _ = task_losses()
    (g_bmtl,) = torch.autograd.grad(make_balancer("bmtl").loss(L), W, retain_graph=True)
    (g_lse,) = torch.autograd.grad(T * torch.logsumexp(L / T, 0), W)
    S = float(torch.exp(L.detach() / T).sum())
    torch.testing.assert_close(g_bmtl, (S / T) * g_lse, rtol=1e-10, atol=1e-14)
    # and the spec's number: S = 3.134148 for L = (0.5, 2, 4)
    assert float(make_balancer("bmtl").loss(torch.tensor(L3))) == pytest.approx(3.134148, abs=1e-6)


def test_smax_weights_are_softmax_via_autograd():
    for T in (1.0, 5.0):
        L = losses((0.3, 1.1, 2.9))
        (g,) = torch.autograd.grad(make_balancer("smax", T=T).loss(L), L)
        e = np.exp(np.array([0.3, 1.1, 2.9]) / T)
        np.testing.assert_allclose(g.numpy(), e / e.sum(), rtol=1e-12)


# ------------------------------------------------------------------------ MGDA
def _two_layer(seed=0, m=3, shared_input=False):
    torch.manual_seed(seed)
    trunk = torch.nn.Linear(5, 8).double()
    heads = torch.nn.ModuleList([torch.nn.Linear(8, 2).double() for _ in range(m)])
    X = [torch.randn(7, 5, dtype=torch.float64)] * m if shared_input else \
        [torch.randn(7, 5, dtype=torch.float64) for _ in range(m)]
    Y = [torch.randn(7, 2, dtype=torch.float64) * (t + 1) for t in range(m)]

    def task_losses():
        reps = [torch.relu(trunk(x)) for x in X] if not shared_input else [torch.relu(trunk(X[0]))] * m
        L = torch.stack([((heads[t](z) - y) ** 2).mean() for t, (z, y) in enumerate(zip(reps, Y))])
        return L, reps
    shared = list(trunk.parameters())
    task_params = [list(h.parameters()) for h in heads]
    return trunk, heads, shared, task_params, task_losses


def _reference_grads(task_losses, shared, task_params):
    L, _ = task_losses()
    out = []
    for t in range(len(task_params)):
        gs = torch.autograd.grad(L[t], shared + task_params[t], retain_graph=True)
        out.append((torch.cat([g.reshape(-1) for g in gs[:len(shared)]]), gs[len(shared):]))
    return out


def _zero(*modules):
    for mod in modules:
        mod.zero_grad(set_to_none=True)


@pytest.mark.parametrize("flags", [{}, {"scale_task_specific": True}, {"normalization": "l2"},
                                   {"normalization": "loss+", "apply_to_normalized": True}])
def test_mgda_backward_writes_alpha_weighted_grads(flags):
    trunk, heads, shared, task_params, task_losses = _two_layer()
    ref = _reference_grads(task_losses, shared, task_params)
    G = torch.stack([g for g, _ in ref])
    L, reps = task_losses()
    Lv = L.detach().numpy()
    n = np.ones(3)
    if flags.get("normalization") == "l2":
        n = np.linalg.norm(G.numpy(), axis=1)
    elif flags.get("normalization") == "loss+":
        n = np.linalg.norm(G.numpy(), axis=1) * Lv
    Gn = G.numpy() / n[:, None]
    alpha_ref = exact(Gn @ Gn.T)
    b = make_balancer("mgda", **flags)
    extra = 0.05 * trunk.weight.square().sum()
    alpha = b.backward(L, shared, extra, task_params=task_params, reps=reps)
    np.testing.assert_allclose(alpha.numpy(), alpha_ref, rtol=1e-9, atol=1e-12)
    assert float(alpha.sum()) == pytest.approx(1.0) and (alpha >= 0).all()
    coef = alpha_ref / n if flags.get("apply_to_normalized") else alpha_ref
    v = torch.as_tensor(coef) @ G
    got = torch.cat([trunk.weight.grad.reshape(-1), trunk.bias.grad])
    v[:trunk.weight.numel()] += 0.1 * trunk.weight.detach().reshape(-1)  # the regulariser
    torch.testing.assert_close(got, v, rtol=1e-9, atol=1e-12)
    for t in range(3):
        s = alpha_ref[t] if flags.get("scale_task_specific") else 1.0
        for p, g in zip(task_params[t], ref[t][1]):
            torch.testing.assert_close(p.grad, s * g, rtol=1e-9, atol=1e-12)


def test_mgda_accumulates_and_falls_back_without_task_params():
    trunk, heads, shared, task_params, task_losses = _two_layer(seed=1)
    L, reps = task_losses()
    b = make_balancer("mgda")
    b.backward(L, shared, None, task_params=task_params)
    first = [p.grad.clone() for p in trunk.parameters()] + [p.grad.clone() for p in heads.parameters()]
    _zero(trunk, heads)
    L, _ = task_losses()
    b.backward(L, shared, None)  # task_params found by walking the graph
    second = [p.grad for p in trunk.parameters()] + [p.grad for p in heads.parameters()]
    for a, c in zip(first, second):
        torch.testing.assert_close(a, c)
    L, _ = task_losses()
    b.backward(L, shared, None, task_params=task_params)  # accumulates into existing .grad
    torch.testing.assert_close(trunk.weight.grad, 2 * first[0])


def test_mgda_rep_space_with_separate_inputs_is_inverse_squared_norm():
    trunk, heads, shared, task_params, task_losses = _two_layer(seed=2)
    L, reps = task_losses()
    gz = [torch.autograd.grad(L[t], reps[t], retain_graph=True)[0] for t in range(3)]
    inv = np.array([1.0 / float(g.square().sum()) for g in gz])
    alpha = make_balancer("mgda", space="rep").backward(L, shared, None, task_params=task_params, reps=reps)
    np.testing.assert_allclose(alpha.numpy(), inv / inv.sum(), rtol=1e-9)
    # the trunk gets sum_t alpha_t dL_t/dtheta (the chain rule through the representations)
    ref = _reference_grads(task_losses, shared, task_params)
    v = sum(float(alpha[t]) * ref[t][0] for t in range(3))
    torch.testing.assert_close(torch.cat([trunk.weight.grad.reshape(-1), trunk.bias.grad]), v)


def test_mgda_rep_space_shared_input_matches_param_formula():
    trunk, heads, shared, task_params, task_losses = _two_layer(seed=5, shared_input=True)
    L, reps = task_losses()
    gz = torch.stack([torch.autograd.grad(L[t], reps[0], retain_graph=True)[0].reshape(-1) for t in range(3)])
    gsum = torch.stack([torch.autograd.grad(L[t], reps[0], retain_graph=True)[0].sum(0) for t in range(3)])
    for red, G in (("flatten", gz), ("sum", gsum)):
        b = make_balancer("mgda", space="rep", rep_reduction=red)
        alpha = b.backward(L, shared, None, task_params=task_params, reps=reps)
        np.testing.assert_allclose(alpha.numpy(), exact((G @ G.T).numpy()), rtol=1e-9, atol=1e-12)
        _zero(trunk, heads)


def test_mgda_weights_from_grads_and_edge_cases():
    b = make_balancer("mgda")
    a = b.weights(losses((1.0, 1.0)), grads=[torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])])
    np.testing.assert_allclose(a.numpy(), [0.8, 0.2], atol=1e-12)
    assert b.weights(losses((1.0,)), grads=[torch.tensor([3.0, 4.0])]).tolist() == [1.0]
    with pytest.raises(ValueError, match="task 1 is not finite"):
        b.weights(losses((1.0, 1.0)), grads=[torch.tensor([1.0, 0.0]), torch.tensor([float("nan"), 0.0])])
    with pytest.raises(ValueError, match="needs grads"):
        make_balancer("mgda").weights(losses())
    with pytest.raises(ValueError, match="2 gradients for 3"):
        b.weights(losses(), grads=[torch.ones(2)] * 2)
    l2 = make_balancer("mgda", normalization="l2")
    g = [torch.tensor([1.0, 0.2]), torch.tensor([-0.3, 1.0]), torch.tensor([0.5, 0.5])]
    a1 = l2.weights(losses(), grads=g)
    a2 = l2.weights(losses(), grads=[g[0] * 100, g[1] * 0.01, g[2] * 7])
    torch.testing.assert_close(a1, a2, rtol=1e-9, atol=1e-12)


def test_mgda_backward_bad_inputs():
    trunk, heads, shared, task_params, task_losses = _two_layer()
    L, reps = task_losses()
    b = make_balancer("mgda")
    with pytest.raises(ValueError, match="shared_params is empty"):
        b.backward(L, [], None)
    with pytest.raises(ValueError, match="task_params has 2"):
        b.backward(L, shared, None, task_params=task_params[:2])
    with pytest.raises(ValueError, match="needs reps"):
        make_balancer("mgda", space="rep").backward(L, shared, None, task_params=task_params)
    with pytest.raises(ValueError, match="require grad"):
        b.backward(L.detach(), shared, None)


# --------------------------------------------------------------- state and registry
@pytest.mark.parametrize("name", list(BALANCERS))
def test_state_dict_round_trip(name):
    kwargs = {"dwa": {"T": 3.0}, "cl": {"T": 2.0, "anneal_factor": 1.5}, "bmtl": {"h": Exp(7.0)},
              "smax": {"T": 0.5}, "mgda": {"normalization": "l2"}}.get(name, {})
    b = make_balancer(name, n_tasks=3, **kwargs)
    for e in ([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [0.5, 0.5, 4.0]):
        b.end_epoch(torch.tensor(e))
    if name == "mgda":
        b.weights(losses(), grads=[torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0])])
    fresh = make_balancer(name)
    fresh.load_state_dict(b.state_dict())
    assert fresh.get_params().keys() == b.get_params().keys()
    assert repr(fresh) == repr(b)
    L = losses()
    torch.testing.assert_close(fresh.weights(L), b.weights(L))
    if name != "mgda":
        torch.testing.assert_close(fresh.loss(L), b.loss(L))
    with pytest.raises(ValueError, match="cannot load"):
        make_balancer("ds" if name != "ds" else "max").load_state_dict(b.state_dict())


def test_registry_errors():
    with pytest.raises(KeyError, match="valid names: ds, dwa, max, smax, cl, mgda, bmtl"):
        make_balancer("gradnorm")
    with pytest.raises(TypeError, match="unknown argument.*'temp'.*T, eps, n_tasks"):
        make_balancer("dwa", temp=2.0)
    assert type(make_balancer("BMTL")).__name__ == "BMTL"
    assert make_balancer("mgda").needs_grads and not make_balancer("bmtl").needs_grads


@pytest.mark.parametrize("name, kwargs, msg", [
    ("bmtl", {"h": lambda z: z}, "Transform"), ("bmtl", {"rescale": "yes"}, "rescale"),
    ("bmtl", {"h": Polynomial([1, 1]), "rescale": True}, "has none"),
    ("smax", {"T": 0}, "T must be"), ("cl", {"T": -1}, "T must be"), ("cl", {"anneal_factor": 0}, "anneal"),
    ("cl", {"scale_to_m": 1}, "scale_to_m"), ("dwa", {"T": float("nan")}, "T must be"),
    ("dwa", {"eps": -1.0}, "eps"), ("mgda", {"normalization": "l1"}, "valid: none, l2, loss, loss\\+"),
    ("mgda", {"space": "latent"}, "space"), ("mgda", {"solver": "cvx"}, "solver"),
    ("mgda", {"rep_reduction": "mean"}, "rep_reduction"), ("mgda", {"scale_task_specific": 1}, "True or False"),
    ("ds", {"n_tasks": 0}, "n_tasks")])
def test_invalid_parameters(name, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        make_balancer(name, **kwargs)


@pytest.mark.parametrize("name", list(BALANCERS))
def test_bad_losses(name):
    b = make_balancer(name, n_tasks=3)
    for bad, msg in [(torch.ones(3, 1), "shape \\(m,\\)"), (torch.ones(2), "for 3 tasks, got 2"),
                     ([1.0, 2.0, 3.0], "torch.Tensor"), (torch.ones(3, dtype=torch.int64), "floating"),
                     (torch.tensor([1.0, 2.0, float("nan")]), "loss of task 2 is nan"),
                     (torch.tensor([float("inf"), 2.0, 1.0]), "loss of task 0 is inf")]:
        with pytest.raises(ValueError, match=msg):
            b.weights(bad) if name == "mgda" else b.loss(bad)
    with pytest.raises(ValueError, match="epoch_mean_losses"):
        b.end_epoch(torch.ones(4))


def test_backward_checks_nan_and_extra():
    W, heads, task_losses = _tiny_problem()
    L, _ = task_losses()
    with pytest.raises(ValueError, match="loss of task 1 is nan"):
        make_balancer("bmtl").backward(L * torch.tensor([1.0, float("nan"), 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="regulariser"):
        make_balancer("ds").backward(L, (), torch.tensor(float("nan")))
    with pytest.raises(ValueError, match="scalar"):
        make_balancer("ds").backward(L, (), torch.ones(2))


def test_bmtl_overflow_guard_raises_never_clamps():
    b = make_balancer("bmtl")
    L = torch.tensor([5000.0, 1.0, 2.0], requires_grad=True)
    for call in (b.loss, b.weights, b.backward):
        with pytest.raises(ValueError, match="task 0.*standardise the targets.*or raise T"):
            call(L)
    # just below the float32 limit it works; just above it raises (also in float64)
    ok = torch.tensor([88.7 * 50, 1.0])
    assert torch.isfinite(b.loss(ok))
    with pytest.raises(ValueError, match="88.72"):
        b.loss(torch.tensor([88.73 * 50, 1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="not finite"):
        make_balancer("bmtl", h=Polynomial([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).loss(torch.tensor([1e5, 1.0]))


def test_dwa_history_length_mismatch():
    b = make_balancer("dwa")
    b.end_epoch(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="earlier epochs had 2"):
        b.end_epoch(torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="task 1"):
        b.end_epoch(torch.tensor([1.0, float("nan")]))


@pytest.mark.parametrize("name", sorted(BALANCERS))
def test_state_dict_is_json(name):
    import json
    from bmtl_edu.transforms import Polynomial
    kwargs = {"h": Polynomial([0.0, 1.0, 0.5])} if name == "bmtl" else {}
    b = make_balancer(name, **kwargs)
    b.end_epoch(torch.tensor([1.0, 2.0]))
    b.end_epoch(torch.tensor([0.5, 1.5]))
    d = json.loads(json.dumps(b.state_dict()))
    fresh = make_balancer(name)
    fresh.load_state_dict(d)
    L = torch.tensor([0.3, 1.7])
    torch.testing.assert_close(fresh.weights(L, grads=[torch.ones(3), torch.ones(3)])
                               if name == "mgda" else fresh.weights(L),
                               b.weights(L, grads=[torch.ones(3), torch.ones(3)])
                               if name == "mgda" else b.weights(L))
    if name == "bmtl":
        assert repr(fresh.h) == repr(b.h)
