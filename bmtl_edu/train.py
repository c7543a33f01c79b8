"""Training and evaluation: the paper's protocol in one function, :func:`fit`.

Protocol (Liang & Zhang 2020, Sec. 4.1; SPEC §3.8 and §5): Adam created once with
learning rate ``eta_p = eta0 / (1 + p)`` where ``p`` is the epoch (``eta0 = 0.02``); every
iteration draws one mini-batch of 32 *per task* from that task's own shuffled stream;
an epoch is ``ceil(max_i n_i / 32)`` iterations. The balancer turns the per-task losses
``(L_1, ..., L_m)`` into a backward pass; the model's regulariser ``r(Theta)`` is added
with weight 1 outside the balancing.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from .balancers import Balancer
from .data import MultiTaskData
from .profiles import get_profile

__all__ = ["History", "fit", "evaluate", "seed_everything", "task_losses"]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that model initialisation is reproducible."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class History:
    """What one call of :func:`fit` records; JSON-serialisable through :meth:`to_dict`.

    ``train_loss[e][t]`` is the mean raw (untransformed) training loss of task ``t`` over
    the iterations of epoch ``e``; ``weights[e][t]`` the mean effective weight
    ``dJ/dL_t`` the balancer gave it; ``test_metric[k][t]`` its test accuracy
    (classification) or mean squared error (regression) after epoch ``eval_epochs[k]``.
    """

    metric: str
    task_names: list[str]
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    epochs: list[int] = field(default_factory=list)
    eval_epochs: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[list[float]] = field(default_factory=list)
    weights: list[list[float]] = field(default_factory=list)
    test_metric: list[list[float]] = field(default_factory=list)
    step_losses: list[list[float]] = field(default_factory=list)
    step_weights: list[list[float]] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    @property
    def final_metric(self) -> float:
        """Task-averaged test metric after the last epoch (the package's default report)."""
        if not self.test_metric:
            raise ValueError("this History has no evaluated epoch")
        return float(np.mean(self.test_metric[-1]))

    @property
    def best_epoch_metric(self) -> float:
        """Best task-averaged test metric over epochs.

        This is what the authors' lab code reports (model selection on the test set,
        SPEC §5); it flatters every method and is offered only for reproduction.
        """
        if not self.test_metric:
            raise ValueError("this History has no evaluated epoch")
        means = [float(np.mean(m)) for m in self.test_metric]
        return max(means) if self.higher_is_better else min(means)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def task_losses(outputs: list[torch.Tensor], targets: list[torch.Tensor],
                regression: bool) -> torch.Tensor:
    """Per-task mean losses stacked into shape (m,): cross-entropy or squared error."""
    if regression:
        return torch.stack([F.mse_loss(o.reshape(-1), y) for o, y in zip(outputs, targets)])
    return torch.stack([F.cross_entropy(o, y) for o, y in zip(outputs, targets)])


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: MultiTaskData, split: str = "test", *,
             device: torch.device | str | None = None, batch_size: int = 1024) -> list[float]:
    """Per-task test metric: accuracy in [0, 1] for classification, MSE for regression.

    Args:
        model: a :class:`~bmtl_edu.models.MultiTaskNet`.
        data: a :class:`~bmtl_edu.data.MultiTaskData`.
        split: ``"test"`` or ``"train"``.
    Returns:
        A list of m floats.
    """
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    device = _model_device(model) if device is None else torch.device(device)
    pairs = data.test if split == "test" else data.train
    regression = data.n_classes is None
    was_training = model.training
    model.eval()
    out = []
    for t, (X, y) in enumerate(pairs):
        if len(X) == 0:
            out.append(float("nan"))
            continue
        total = 0.0
        for s in range(0, len(X), batch_size):
            xb = X[s:s + batch_size].to(device)
            yb = y[s:s + batch_size].to(device)
            pred = model(xb, t)
            if regression:
                total += float(((pred.reshape(-1) - yb) ** 2).sum())
            else:
                total += float((pred.argmax(1) == yb).sum())
        out.append(total / len(X))
    model.train(was_training)
    return out


def _model_device(model: torch.nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _check_compatible(model, balancer, data) -> None:
    if not isinstance(balancer, Balancer):
        raise ValueError(f"balancer must be a bmtl_edu Balancer (e.g. make_balancer('bmtl')), "
                         f"got {type(balancer).__name__}")
    if not isinstance(data, MultiTaskData):
        raise ValueError(f"data must be a MultiTaskData (e.g. load_dataset(...) or "
                         f"make_toy_problem(...)), got {type(data).__name__}")
    for size in ("in_dim", "n_tasks", "out_dim"):  # input width, number of tasks, head width
        have, need = getattr(model, size, None), getattr(data, size)
        if have is not None and have != need:
            raise ValueError(f"the model has {size}={have} but the data {data.name!r} needs "
                             f"{size}={need}; build the model with {size}={need}")
    n_bal = getattr(balancer, "n_tasks", None)
    if n_bal is not None and n_bal != data.n_tasks:
        raise ValueError(f"the balancer was built for {n_bal} tasks but the data has {data.n_tasks}")
    for t, (X, _) in enumerate(data.train):
        if len(X) == 0:
            raise ValueError(f"task {t} ({data.task_names[t]!r}) has no training samples")


class _TaskStreams:
    """One shuffled index stream per task (or one for all when inputs are shared)."""

    def __init__(self, sizes: list[int], batch_size: int, shared: bool, generator: torch.Generator):
        self.sizes = sizes
        self.batch_size = batch_size
        self.shared = shared
        self.gen = generator
        n_streams = 1 if shared else len(sizes)
        self.perm = [torch.randperm(sizes[i], generator=generator) for i in range(n_streams)]
        self.pos = [0] * n_streams

    def _next(self, i: int) -> torch.Tensor:
        n, b = self.sizes[i], min(self.batch_size, self.sizes[i])
        if self.pos[i] + b > n:
            self.perm[i] = torch.randperm(n, generator=self.gen)
            self.pos[i] = 0
        idx = self.perm[i][self.pos[i]:self.pos[i] + b]
        self.pos[i] += b
        return idx

    def draw(self) -> list[torch.Tensor]:
        if self.shared:
            idx = self._next(0)
            return [idx] * len(self.sizes)
        return [self._next(i) for i in range(len(self.sizes))]


def fit(model: torch.nn.Module, balancer: Balancer, data: MultiTaskData, *, epochs: int | None = None, lr: float = 0.02,
        batch_size: int = 32, seed: int = 0, device: torch.device | str | None = None,
        progress: bool = True, lr_decay: bool = True, reset_adam_each_step: bool = False,
        record_steps: bool = False, eval_every: int = 1,
        callback: Callable[[int, "History"], None] | None = None) -> History:
    """Train ``model`` on ``data`` with ``balancer`` following the paper's protocol.

    Args:
        model: a :class:`~bmtl_edu.models.MultiTaskNet` with ``m`` tasks.
        balancer: a :class:`~bmtl_edu.balancers.Balancer` (any of the seven).
        data: a :class:`~bmtl_edu.data.MultiTaskData`; ``train[t] = (X_t, y_t)`` with
            ``X_t`` of shape (n_t, d).
        epochs: number of epochs; default: the current profile's ``epochs``.
        lr: initial learning rate ``eta0`` (paper: 0.02).
        batch_size: mini-batch size per task (paper: 32).
        seed: seeds the mini-batch streams (and torch's global RNG); same seed, same History.
        device: where to train; default: where the model's parameters are.
        progress: show a tqdm progress bar over epochs.
        lr_decay: use ``eta_p = eta0 / (1 + p)`` with ``p`` the epoch; else a constant rate.
        reset_adam_each_step: create a new Adam every iteration, reproducing the authors'
            lab code (SPEC §5); every step is then Adam's first, a sign-like update.
        record_steps: also record per-iteration losses and weights.
        eval_every: evaluate on the test split every this many epochs (and after the last).
        callback: called as ``callback(epoch, history)`` after each epoch.

    Returns:
        A :class:`History`.

    Raises:
        ValueError: incompatible model / data / balancer, invalid sizes, or a non-finite
            loss (the message names the task, epoch and iteration).
    """
    if epochs is None:
        epochs = get_profile().epochs
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if not (isinstance(eval_every, int) and eval_every >= 1):
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    _check_compatible(model, balancer, data)

    device = _model_device(model) if device is None else torch.device(device)
    model.to(device)
    model.train()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    m = data.n_tasks
    regression = data.n_classes is None
    Xs = [X.to(device) for X, _ in data.train]
    ys = [y.to(device) for _, y in data.train]
    sizes = [len(X) for X in Xs]
    shared_inputs = bool(getattr(data, "shared_inputs", False))
    task_features = bool(getattr(model, "task_specific_features", False))
    streams = _TaskStreams(sizes, batch_size, shared_inputs, gen)
    iters = math.ceil(max(sizes) / batch_size)

    params = [p for p in model.parameters() if p.requires_grad]
    make_opt = lambda rate: torch.optim.Adam(params, lr=rate)  # noqa: E731
    opt = make_opt(lr)
    opt.zero_grad(set_to_none=True)  # gradients left by the caller must not leak into step 1
    needs_grads = bool(getattr(balancer, "needs_grads", False))
    shared_params = list(model.shared_parameters()) if needs_grads else []
    task_params = [list(model.task_parameters(t)) for t in range(m)] if needs_grads else None

    history = History(
        metric="mse" if regression else "accuracy",
        task_names=list(data.task_names), seed=seed,
        config={"epochs": epochs, "lr": lr, "batch_size": batch_size, "lr_decay": lr_decay,
                "reset_adam_each_step": reset_adam_each_step,
                "iterations_per_epoch": iters, "balancer": getattr(balancer, "name", None),
                "model": type(model).__name__, "dataset": getattr(data, "name", None),
                "is_synthetic": bool(getattr(data, "is_synthetic", False)),
                "device": str(device)})

    from tqdm.auto import tqdm  # imported lazily: importing tqdm.auto is slow in notebooks
    bar = tqdm(range(epochs), desc=f"fit {history.config['balancer']}", disable=not progress,
               leave=False)
    start = time.perf_counter()
    step = 0
    for epoch in bar:
        rate = lr / (1 + epoch) if lr_decay else lr
        for group in opt.param_groups:
            group["lr"] = rate
        loss_sum = torch.zeros(m, device=device)
        weight_sum = torch.zeros(m, device=device)
        for it in range(iters):
            if reset_adam_each_step:
                opt = make_opt(rate)
            idx = streams.draw()
            if shared_inputs and not task_features:
                z = model.features(Xs[0][idx[0]])
                reps = [z] * m
            else:
                reps = [model.features(Xs[t][idx[t]], t) for t in range(m)]
            outs = [model.head(reps[t], t) for t in range(m)]
            losses = task_losses(outs, [ys[t][idx[t]] for t in range(m)], regression)
            extra = model.regularizer()
            try:
                w = balancer.backward(losses, shared_params, extra,
                                      task_params=task_params, reps=reps)
            except ValueError as err:
                raise ValueError(f"epoch {epoch}, iteration {it}: {err}") from err
            opt.step()
            opt.zero_grad(set_to_none=True)
            model.on_step_end(step)
            step += 1
            detached = losses.detach()
            loss_sum += detached
            weight_sum += w
            if record_steps:
                history.step_losses.append(detached.tolist())
                history.step_weights.append(w.tolist())
        epoch_loss = loss_sum / iters
        balancer.end_epoch(epoch_loss)
        history.epochs.append(epoch)
        history.lr.append(rate)
        history.train_loss.append(epoch_loss.tolist())
        history.weights.append((weight_sum / iters).tolist())
        if (epoch + 1) % eval_every == 0 or epoch == epochs - 1:
            history.eval_epochs.append(epoch)
            history.test_metric.append(evaluate(model, data, device=device))
        if progress:
            bar.set_postfix(loss=f"{float(epoch_loss.mean()):.3f}")
        if callback is not None:
            callback(epoch, history)
    history.wall_time = time.perf_counter() - start
    return history
