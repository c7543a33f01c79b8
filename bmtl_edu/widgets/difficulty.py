"""What makes one task harder than another: noise, overlap, size and scale, measured.

The demo regenerates the toy problem of :func:`bmtl_edu.data.toy.make_toy_problem` (pure
NumPy, about a millisecond) with the reader's knobs for task 3, while tasks 1 and 2 stay
fixed references, and measures each task's difficulty with a single-task softmax
regression fitted in closed-form-fast NumPy/SciPy (no network, no training loop):

* ``optimum_loss``: training cross-entropy at the (lightly ridge-regularised) optimum,
  the *intrinsic* difficulty (noise and overlap raise it; scale does not change it much);
* ``early_loss``: cross-entropy after a few plain gradient steps from zero, the
  *optimisation* difficulty (scale changes it: larger inputs, larger gradients);
* ``test_error``: error on the task's test split at the optimum, where few training
  samples (size) show up as a gap to the training error.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from scipy.special import log_softmax

from ..data.toy import make_toy_problem
from ..profiles import get_profile
from .base import TASK_COLOURS, FigureDemo

__all__ = ["DifficultyDemo", "difficulty_widget", "softmax_regression", "task_difficulty"]

_MEASURES = ("optimum_loss", "early_loss", "test_error")


def _ce(W: np.ndarray, X: np.ndarray, y: np.ndarray):
    """Mean cross-entropy, softmax probabilities; X (n, D), W (D, C)."""
    logp = log_softmax(X @ W, axis=1)
    return -logp[np.arange(len(y)), y].mean(), np.exp(logp)


def softmax_regression(X: np.ndarray, y: np.ndarray, n_classes: int, *, ridge: float = 1e-3,
                       early_steps: int = 10, early_lr: float = 0.5, newton_steps: int = 25
                       ) -> dict[str, float | np.ndarray]:
    """Fit a softmax regression (with bias) on one task; report early and optimal losses.

    The optimum comes from damped Newton steps on the ridge-penalised cross-entropy (a
    (D·C)-dimensional convex problem, D = d + 1 <= 4 here): a few milliseconds, which is what
    lets the widget refit on every slider change.

    Args:
        X: inputs, shape (n, d). y: class ids, shape (n,). n_classes: C.
        ridge: L2 penalty on all parameters; keeps separable tasks bounded and the Hessian
            invertible (softmax is invariant to adding one vector to every class).
        early_steps, early_lr: plain gradient descent from zero for the ``early_loss``.
        newton_steps: cap on Newton iterations.
    Returns:
        ``{"W": (d+1, C), "optimum_loss": float, "early_loss": float}`` (cross-entropies
        without the ridge term).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
    n = len(y)
    Xb = np.hstack([X, np.ones((n, 1))])
    D, C = Xb.shape[1], int(n_classes)
    Y = np.eye(C)[y]

    W = np.zeros((D, C))
    for _ in range(early_steps):
        _, P = _ce(W, Xb, y)
        W -= early_lr * Xb.T @ (P - Y) / n
    early = _ce(W, Xb, y)[0]

    def objective(W):
        return _ce(W, Xb, y)[0] + 0.5 * ridge * (W ** 2).sum()

    W = np.zeros((D, C))
    f = objective(W)
    for _ in range(newton_steps):
        _, P = _ce(W, Xb, y)
        G = Xb.T @ (P - Y) / n + ridge * W                                  # (D, C)
        S = np.einsum("nc,ck->nck", P, np.eye(C)) - np.einsum("nc,nk->nck", P, P)
        H = np.einsum("nck,nd,ne->dcek", S, Xb, Xb).reshape(D * C, D * C) / n + ridge * np.eye(D * C)
        step = np.linalg.solve(H, G.reshape(-1)).reshape(D, C)
        t = 1.0
        while t > 1e-4:                                                     # backtracking: Newton can overshoot
            f_new = objective(W - t * step)
            if f_new <= f:
                break
            t *= 0.5
        if f_new > f:                                                       # no descent left: converged
            break
        W, f_old, f = W - t * step, f, f_new
        if f_old - f < 1e-10:
            break
    return {"W": W, "optimum_loss": float(_ce(W, Xb, y)[0]), "early_loss": float(early)}


def task_difficulty(data, tasks=None) -> dict[str, np.ndarray]:
    """Per-task difficulty measures of a classification ``MultiTaskData`` (see module doc).

    Args:
        data: the problem. tasks: indices of the tasks to measure (default: all).

    Returns:
        ``{"optimum_loss", "early_loss", "train_error", "test_error"}``, each of shape (m,).
    """
    if data.n_classes is None:
        raise ValueError("task_difficulty measures classification tasks; got a regression problem")
    out = {k: [] for k in ("optimum_loss", "early_loss", "train_error", "test_error")}
    tasks = range(data.n_tasks) if tasks is None else tasks
    for t in tasks:
        (Xtr, ytr), (Xte, yte) = data.train[t], data.test[t]
        fit = softmax_regression(Xtr.numpy(), ytr.numpy(), data.n_classes)
        W = fit["W"]
        for name, X, y in (("train_error", Xtr, ytr), ("test_error", Xte, yte)):
            Xb = np.hstack([X.numpy().astype(np.float64), np.ones((len(X), 1))])
            out[name].append(float(((Xb @ W).argmax(1) != y.numpy()).mean()) if len(X) else float("nan"))
        out["optimum_loss"].append(fit["optimum_loss"])
        out["early_loss"].append(fit["early_loss"])
    return {k: np.array(v) for k, v in out.items()}


class DifficultyDemo(FigureDemo):
    """Sliders shape task 3 (noise, overlap, size, scale); tasks 1 and 2 are fixed references."""

    def __init__(self, noise: float = 1.6, overlap: float = 0.0, size: int | None = None,
                 scale: float = 1.0, reference_noise: tuple[float, float] = (0.6, 1.1), seed: int = 0):
        n0 = get_profile().toy_samples if size is None else int(size)
        self.reference_noise = tuple(float(v) for v in reference_noise)
        self.n0 = get_profile().toy_samples
        self.seed = seed
        self._reference = None
        self.problem(noise, overlap, n0, scale)  # validates with the generator's messages
        controls = {
            "noise": widgets.FloatSlider(value=noise, min=0.05, max=2.0, step=0.05, description="noise"),
            "overlap": widgets.FloatSlider(value=overlap, min=0.0, max=1.0, step=0.05, description="overlap"),
            "size": widgets.IntSlider(value=n0, min=10, max=1000, step=10, description="size n"),
            "scale": widgets.FloatLogSlider(value=scale, base=10, min=-1, max=1, step=0.05, description="scale"),
        }
        super().__init__(controls, figsize=(9.0, 3.4))

    def problem(self, noise: float, overlap: float, size: int, scale: float):
        """The toy problem with task 3 set by the knobs."""
        return make_toy_problem(n_tasks=3, dim=2, n_classes=2,
                                noise=[*self.reference_noise, noise], overlap=[0.0, 0.0, overlap],
                                sizes=[self.n0, self.n0, size], scale=[1.0, 1.0, scale], seed=self.seed)

    def setup(self) -> None:
        self.ax_s, self.ax_b = self.fig.subplots(1, 2, width_ratios=(1, 1.4))
        self.scatter = self.ax_s.scatter([0], [0], s=8)
        self.ax_s.set_aspect("equal", adjustable="box")
        self.ax_s.set_xlabel("$x_1$")
        self.ax_s.set_ylabel("$x_2$")
        self.ax_s.set_title("task 3, training inputs")
        n_meas = len(_MEASURES)
        width = 0.8 / 3
        self.bars = []
        for t in range(3):
            x = np.arange(n_meas) - 0.4 + width * (t + 0.5)
            self.bars.append(self.ax_b.bar(x, np.zeros(n_meas), width, color=TASK_COLOURS[t],
                                           label=f"task {t + 1}" + (" (yours)" if t == 2 else "")))
        self.ax_b.set_xticks(np.arange(n_meas), ["CE at optimum", "CE after 10 GD steps", "test error"])
        self.ax_b.set_ylim(0, 1.5)  # fixed (bars above are clipped) so the background stays cached
        self.ax_b.set_ylabel("difficulty (higher = harder)")
        self.ax_b.legend(fontsize=8)
        self.ax_b.set_title("single-task difficulty, synthetic toy problem")
        self.dynamic(self.scatter, *[b for bars in self.bars for b in bars])
        self._lim = None

    def draw(self, noise: float, overlap: float, size: int, scale: float) -> None:
        data = self.problem(noise, overlap, size, scale)
        if self._reference is None:
            # tasks 1-2 never change (the generator draws task 3 last), so measure them once
            self._reference = task_difficulty(data, tasks=(0, 1))
        mine = task_difficulty(data, tasks=(2,))
        d = {k: np.concatenate([self._reference[k], mine[k]]) for k in mine}
        for t, bars in enumerate(self.bars):
            for bar, key in zip(bars, _MEASURES):
                bar.set_height(d[key][t])
        X, y = data.train[2]
        X = X.numpy()
        self.scatter.set_offsets(X)
        self.scatter.set_color(np.where(y.numpy() == 0, "tab:purple", "tab:olive"))
        lim = 6.0 * scale  # depends on the scale only, so the cached background survives
        if lim != self._lim:
            self.ax_s.set_xlim(-lim, lim)
            self.ax_s.set_ylim(-lim, lim)
            self._lim = lim
            self.invalidate()
        self.caption = (f"task 3: noise {noise:.2f}, overlap {overlap:.2f}, n = {size} ({len(X)} for training), "
                        f"scale {scale:.2f}; CE at optimum (tasks 1-3) = "
                        + ", ".join(f"{v:.3f}" for v in d["optimum_loss"]) + "; test error = "
                        + ", ".join(f"{v:.3f}" for v in d["test_error"]))
        self.state = {"knobs": dict(noise=noise, overlap=overlap, size=size, scale=scale), **d}


def difficulty_widget(**kwargs) -> widgets.VBox:
    """The live difficulty demo (``ipywidgets.VBox``; ``.demo`` is the :class:`DifficultyDemo`).

    Args:
        **kwargs: initial ``noise``, ``overlap``, ``size``, ``scale`` of task 3 and the
            ``reference_noise`` of tasks 1-2, ``seed`` (see :class:`DifficultyDemo`).
    """
    return DifficultyDemo(**kwargs).widget
