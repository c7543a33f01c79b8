"""Max and soft max on a two-task, one-parameter problem (paper problem (3) and sMAX).

Task losses of a scalar parameter ``theta``:
``L_1(theta) = (theta + 1)^2`` and ``L_2(theta) = 0.5 (theta - 1)^2 + c`` (``c`` shifts task
2's difficulty). The maximum ``max_i L_i`` has a kink where the two curves cross: its
sub-gradient jumps from one task's gradient to the other's. The soft maximum
``T logsumexp(L / T)`` is smooth, lies between ``max L`` and ``max L + T ln m`` and mixes the
two gradients with weights ``softmax(L / T)``.

The demo evaluates the curves in closed form (vectorised over a grid of ``theta``) and asks
the package's Max and sMAX balancers for the weights at the chosen ``theta``.
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import torch

from ..balancers import make_balancer
from .base import FigureDemo

__all__ = ["MaximumDemo", "descent_path", "maximum_widget", "two_task_losses"]


def two_task_losses(theta, c: float = 0.0):
    """``(L_1, L_2)`` at ``theta`` (a float, array or tensor; differentiable for tensors).

    Returns:
        A tensor / array with a new leading axis of size 2: shape ``(2, *theta.shape)``.
    """
    lib = torch if isinstance(theta, torch.Tensor) else np
    return lib.stack([(theta + 1.0) ** 2, 0.5 * (theta - 1.0) ** 2 + c])


def descent_path(balancer: str, theta0: float = 2.0, lr: float = 0.2, steps: int = 30,
                 c: float = 0.0, **balancer_kwargs) -> dict[str, np.ndarray]:
    """Gradient descent on ``J(L_1(theta), L_2(theta))`` with the package's balancer.

    Each step calls ``Balancer.backward`` on the stacked losses, exactly like training.

    Args:
        balancer: registry name (e.g. ``"max"``, ``"smax"``, ``"ds"``, ``"bmtl"``).
        theta0: start. lr: step size. steps: number of steps. c: task 2's offset.
    Returns:
        ``{"theta": (steps+1,), "losses": (steps+1, 2), "weights": (steps, 2)}``.
    """
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    bal = make_balancer(balancer, **balancer_kwargs)
    theta = torch.tensor(float(theta0), dtype=torch.float64, requires_grad=True)
    thetas, losses, weights = [float(theta.detach())], [], []
    for _ in range(steps):
        L = two_task_losses(theta, c)
        losses.append(L.detach().numpy())
        weights.append(bal.backward(L).numpy())
        with torch.no_grad():
            theta -= lr * theta.grad
        theta.grad = None
        thetas.append(float(theta.detach()))
    losses.append(two_task_losses(theta.detach(), c).numpy())
    return {"theta": np.array(thetas), "losses": np.array(losses), "weights": np.array(weights)}


class MaximumDemo(FigureDemo):
    """Sliders: the point ``theta``, the soft-max temperature ``T`` and task 2's offset ``c``."""

    def __init__(self, theta: float = -0.2, T: float = 1.0, c: float = 0.0,
                 theta_range: tuple[float, float] = (-2.5, 2.5), n_grid: int = 200):
        lo, hi = theta_range
        if not lo < hi:
            raise ValueError(f"theta_range must satisfy low < high, got {theta_range}")
        if not lo <= theta <= hi:
            raise ValueError(f"theta={theta} must lie in theta_range {theta_range}")
        make_balancer("smax", T=T)  # validates T with the package's message
        self.grid = np.linspace(lo, hi, n_grid)
        controls = {
            "theta": widgets.FloatSlider(value=theta, min=lo, max=hi, step=0.01, description="θ"),
            "T": widgets.FloatLogSlider(value=T, base=10, min=-2, max=1, step=0.02, description="sMAX T"),
            "c": widgets.FloatSlider(value=c, min=-2.5, max=5.0, step=0.05, description="offset c"),
        }
        super().__init__(controls, figsize=(8.5, 3.4))

    def setup(self) -> None:
        self.ax_v, self.ax_g = self.fig.subplots(1, 2)
        g = self.grid
        z = np.zeros_like(g)
        ax = self.ax_v
        self.l1, = ax.plot(g, z, color="tab:blue", lw=1, label="$L_1$")
        self.l2, = ax.plot(g, z, color="tab:orange", lw=1, label="$L_2$")
        self.lmax, = ax.plot(g, z, color="k", lw=2, label="max")
        self.lsoft, = ax.plot(g, z, color="tab:red", ls="--", lw=1.5, label="T·logsumexp(L/T)")
        self.band = None
        self.pt, = ax.plot([0], [0], "o", color="k")
        ax.set_xlabel("θ")
        ax.set_ylabel("objective")
        ax.set_ylim(-0.5, 8)
        ax.legend(fontsize=7, loc="upper center")
        ax.set_title("max ≤ soft max ≤ max + T ln 2")
        ax = self.ax_g
        self.gmax, = ax.plot(g, z, color="k", lw=2, label="sub-gradient of max")
        self.gsoft, = ax.plot(g, z, color="tab:red", ls="--", lw=1.5, label="gradient of sMAX")
        self.gpt, = ax.plot([0], [0], "o", color="k")
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_xlabel("θ")
        ax.set_ylabel("dJ/dθ")
        ax.set_ylim(-6, 6)
        ax.legend(fontsize=7, loc="upper left")
        ax.set_title("derivative of the objective")
        self.dynamic(self.l1, self.l2, self.lmax, self.lsoft, self.pt, self.gmax, self.gsoft, self.gpt)

    def draw(self, theta: float, T: float, c: float) -> None:
        g = self.grid
        L = two_task_losses(g, c)                                  # (2, n)
        dL = np.stack([2 * (g + 1.0), g - 1.0])                    # dL_i/dtheta, (2, n)
        lmax = L.max(axis=0)
        active = L.argmax(axis=0)                                  # lowest index on ties, as Max does
        soft = T * np.logaddexp(L[0] / T, L[1] / T)
        p = np.exp(L / T - soft / T)                               # softmax(L/T), (2, n)
        self.l1.set_ydata(L[0])
        self.l2.set_ydata(L[1])
        self.lmax.set_ydata(lmax)
        self.lsoft.set_ydata(soft)
        if self.band is not None:
            self.forget(self.band)
        self.band = self.dynamic(self.ax_v.fill_between(g, lmax, lmax + T * math.log(2), color="tab:red",
                                                        alpha=0.12, lw=0))
        self.gmax.set_ydata(dL[active, np.arange(len(g))])
        self.gsoft.set_ydata((p * dL).sum(axis=0))

        # the package's balancers at the chosen point
        Lt = two_task_losses(torch.tensor(theta, dtype=torch.float64), c)
        w_max = make_balancer("max").weights(Lt).numpy()
        smax = make_balancer("smax", T=T)
        w_soft = smax.weights(Lt).numpy()
        value_soft = float(smax.loss(Lt))
        dLt = np.array([2 * (theta + 1.0), theta - 1.0])
        self.pt.set_data([theta], [float(Lt.max())])
        self.gpt.set_data([theta], [float(w_max @ dLt)])
        self.caption = (f"θ = {theta:.2f}: active task {int(np.argmax(w_max)) + 1}; max = {float(Lt.max()):.2f} ≤ "
                        f"sMAX = {value_soft:.2f} ≤ {float(Lt.max()) + T * math.log(2):.2f}; weights: Max "
                        f"{np.round(w_max, 2).tolist()}, sMAX {np.round(w_soft, 2).tolist()}")
        self.state = {"theta": theta, "T": T, "c": c, "losses": Lt.numpy(), "max_weights": w_max,
                      "smax_weights": w_soft, "smax_value": value_soft,
                      "max_subgradient": float(w_max @ dLt), "smax_gradient": float(w_soft @ dLt)}


def maximum_widget(theta: float = -0.2, T: float = 1.0, c: float = 0.0, **kwargs) -> widgets.VBox:
    """The live max / soft-max demo (``ipywidgets.VBox``; ``.demo`` is the :class:`MaximumDemo`).

    Args:
        theta: initial point. T: soft-max temperature (paper's sMAX: 1). c: task 2's offset.
        **kwargs: ``theta_range``, ``n_grid`` of :class:`MaximumDemo`.
    """
    return MaximumDemo(theta, T, c, **kwargs).widget
