"""The trainer: the paper's protocol, every balancer, determinism, clear errors."""
import json
import math

import pytest
import torch

from bmtl_edu.balancers import BALANCERS, make_balancer
from bmtl_edu.data import make_toy_problem
from bmtl_edu.models import make_model
from bmtl_edu.train import History, evaluate, fit, seed_everything


@pytest.fixture(scope="module")
def toy():
    return make_toy_problem(n_tasks=3, n_samples=120, noise=(0.2, 0.6, 1.2), seed=0)


def _model(data, name="dmtl", seed=0):
    seed_everything(seed)
    return make_model(name, data.in_dim, data.n_tasks, data.out_dim, hidden=16)


@pytest.mark.parametrize("name", sorted(BALANCERS))
def test_every_balancer_lowers_the_training_loss(toy, name):
    h = fit(_model(toy), make_balancer(name), toy, epochs=8, seed=0, progress=False)
    first, last = sum(h.train_loss[0]), sum(h.train_loss[-1])
    assert last < 0.8 * first, (name, h.train_loss)
    assert len(h.train_loss) == len(h.weights) == 8 and len(h.test_metric) == 8
    assert all(0.0 <= a <= 1.0 for a in h.test_metric[-1])


def test_same_seed_same_history_and_other_seed_differs(toy):
    runs = [fit(_model(toy), make_balancer("bmtl"), toy, epochs=3, seed=s, progress=False)
            for s in (0, 0, 1)]
    assert runs[0].train_loss == runs[1].train_loss
    assert runs[0].test_metric == runs[1].test_metric
    assert runs[0].train_loss != runs[2].train_loss
    assert runs[0].seed == 0 and runs[2].seed == 1


def test_history_round_trips_through_json(toy):
    h = fit(_model(toy), make_balancer("dwa"), toy, epochs=3, seed=0, progress=False,
            record_steps=True)
    back = History.from_dict(json.loads(h.to_json()))
    assert back == h
    iters = math.ceil(max(len(X) for X, _ in toy.train) / 32)
    assert len(h.step_losses) == 3 * iters
    assert h.config["iterations_per_epoch"] == iters


def test_learning_rate_follows_eta0_over_one_plus_epoch(toy):
    h = fit(_model(toy), make_balancer("ds"), toy, epochs=4, lr=0.02, progress=False)
    assert h.lr == pytest.approx([0.02 / (1 + p) for p in range(4)])
    flat = fit(_model(toy), make_balancer("ds"), toy, epochs=2, lr=0.02, lr_decay=False,
               progress=False)
    assert flat.lr == [0.02, 0.02]


def test_dwa_weights_are_one_in_the_first_two_epochs_then_sum_to_m(toy):
    h = fit(_model(toy), make_balancer("dwa"), toy, epochs=4, progress=False)
    assert h.weights[0] == pytest.approx([1, 1, 1]) and h.weights[1] == pytest.approx([1, 1, 1])
    assert sum(h.weights[3]) == pytest.approx(3, rel=1e-5)
    assert h.weights[3] != pytest.approx([1, 1, 1])


def test_bmtl_logged_weights_are_exp_of_loss_over_T_over_T(toy):
    h = fit(_model(toy), make_balancer("bmtl", T=2.0), toy, epochs=1, progress=False,
            record_steps=True)
    for losses, weights in zip(h.step_losses, h.step_weights):
        assert weights == pytest.approx([math.exp(L / 2.0) / 2.0 for L in losses], rel=1e-5)


def test_the_loss_that_grows_gets_more_weight_under_bmtl_than_ds(toy):
    h = fit(_model(toy), make_balancer("bmtl", T=0.5), toy, epochs=2, progress=False,
            record_steps=True)
    losses, weights = h.step_losses[-1], h.step_weights[-1]
    hardest = max(range(3), key=losses.__getitem__)
    assert max(range(3), key=weights.__getitem__) == hardest


def test_regression_with_shared_inputs_reports_mse():
    from bmtl_edu.data import load_dataset
    from bmtl_edu.data import SyntheticDataWarning
    with pytest.warns(SyntheticDataWarning, match="SYNTHETIC"):
        data = load_dataset("sarcos", root="/nonexistent", allow_synthetic=True,
                            max_train_per_task=96)
    assert data.shared_inputs and data.n_classes is None
    model = _model(data)
    # MGDA-UB: with shared inputs the representation-space Gram is informative (SPEC §3.6)
    h = fit(model, make_balancer("mgda", space="rep"), data, epochs=3, progress=False)
    assert h.metric == "mse" and len(h.test_metric[-1]) == data.n_tasks
    assert evaluate(model, data) == pytest.approx(h.test_metric[-1])
    assert h.train_loss[-1] < h.train_loss[0] or sum(h.train_loss[-1]) < sum(h.train_loss[0])


def test_shared_inputs_must_really_be_shared(toy):
    with pytest.raises(ValueError, match="shared_inputs"):
        type(toy)(**{**toy.__dict__, "shared_inputs": True})


def test_adam_reset_each_step_reproduces_the_lab_quirk(toy):
    kw = dict(epochs=2, progress=False, record_steps=True)
    a = fit(_model(toy), make_balancer("ds"), toy, **kw)
    b = fit(_model(toy), make_balancer("ds"), toy, reset_adam_each_step=True, **kw)
    # the first step is Adam's first step either way; later the reset moments differ
    assert a.step_losses[0] == b.step_losses[0]
    assert a.step_losses[-1] != b.step_losses[-1]


def test_nan_loss_names_task_epoch_and_iteration(toy):
    X, y = toy.train[1]
    bad = X.clone()
    bad[:] = float("nan")
    broken = type(toy)(**{**toy.__dict__, "train": [toy.train[0], (bad, y), toy.train[2]]})
    with pytest.raises(ValueError, match=r"epoch 0, iteration 0: .*task 1"):
        fit(_model(broken), make_balancer("ds"), broken, epochs=1, progress=False)


def test_bmtl_overflow_is_reported_not_clamped(toy):
    with pytest.raises(ValueError, match="standardi"):
        fit(_model(toy), make_balancer("bmtl", T=1e-3), toy, epochs=1, progress=False)


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
    ({"eval_every": 0}, "eval_every"),
])
def test_invalid_arguments_are_rejected(toy, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(_model(toy), make_balancer("ds"), toy, progress=False, **{"epochs": 1, **kwargs})


def test_wrong_input_size_and_wrong_types_are_named(toy):
    model = make_model("dmtl", toy.in_dim + 1, toy.n_tasks, toy.out_dim, hidden=8)
    with pytest.raises(ValueError, match=f"in_dim={toy.in_dim}"):
        fit(model, make_balancer("ds"), toy, epochs=1, progress=False)
    with pytest.raises(ValueError, match="Balancer"):
        fit(_model(toy), "bmtl", toy, epochs=1, progress=False)
    with pytest.raises(ValueError, match="lr"):
        fit(_model(toy), make_balancer("ds"), toy, epochs=1, lr="0.1", progress=False)


def test_gradients_left_by_the_caller_do_not_leak_into_the_first_step(toy):
    clean = fit(_model(toy), make_balancer("ds"), toy, epochs=1, progress=False, record_steps=True)
    dirty_model = _model(toy)
    for p in dirty_model.parameters():
        p.grad = torch.full_like(p, 1e3)
    dirty = fit(dirty_model, make_balancer("ds"), toy, epochs=1, progress=False, record_steps=True)
    assert clean.step_losses == dirty.step_losses


def test_model_with_wrong_task_count_is_rejected(toy):
    model = make_model("dmtl", toy.in_dim, toy.n_tasks + 1, toy.out_dim, hidden=8)
    with pytest.raises(ValueError, match="tasks"):
        fit(model, make_balancer("ds"), toy, epochs=1, progress=False)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(KeyError, match="bmtl"):
        make_balancer("bmlt")
    with pytest.raises(KeyError, match="dmtl"):
        make_model("dmt", 2, 2, 2)
