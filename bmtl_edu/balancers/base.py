"""The :class:`Balancer` interface: "what weight does each task get now?".

A balancer turns the per-task losses ``L = (L_1, ..., L_m)`` (a 1-D tensor, the
``torch.stack`` of per-task mean losses) into a training signal. Loss-based balancers
(DS, DWA, Max, sMAX, CL, BMTL) define a differentiable objective ``J(L)``; their
``weights`` are ``dJ/dL_i`` in closed form. Gradient-based ones (MGDA) override
``backward``. Like a ``torch.optim`` optimiser, a balancer is small, stateful and
serialisable (``state_dict`` / ``load_state_dict``).
"""
from __future__ import annotations

import copy
import math
from typing import Any, Sequence

import torch

__all__ = ["Balancer"]


class Balancer:
    """Base class; see CONTRIBUTING.md for the contract every balancer follows.

    Subclasses set ``name``, list their constructor arguments in ``_param_names`` and
    implement ``_loss`` / ``_weights`` on already validated losses (loss-based ones), or
    override :meth:`backward` (gradient-based ones).

    Args:
        n_tasks: number of tasks ``m``; when given, losses of another length are refused.
    """

    name: str = "base"
    needs_grads: bool = False
    _param_names: tuple[str, ...] = ("n_tasks",)

    def __init__(self, n_tasks: int | None = None):
        if n_tasks is not None and (isinstance(n_tasks, bool) or not isinstance(n_tasks, int)
                                    or n_tasks < 1):
            raise ValueError(f"{self.name}: n_tasks must be a positive integer or None, got {n_tasks!r}")
        self.n_tasks = n_tasks

    # ----------------------------------------------------------------- validation
    def _check_shape(self, losses: Any, what: str = "losses") -> None:
        if not isinstance(losses, torch.Tensor):
            raise ValueError(f"{self.name}: {what} must be a 1-D torch.Tensor of shape (m,) "
                             f"(torch.stack of the per-task losses), got {type(losses).__name__}")
        if losses.ndim != 1 or losses.shape[0] == 0:
            raise ValueError(f"{self.name}: {what} must have shape (m,) with m >= 1, "
                             f"got shape {tuple(losses.shape)}")
        if self.n_tasks is not None and losses.shape[0] != self.n_tasks:
            raise ValueError(f"{self.name}: expected {what} for {self.n_tasks} tasks, "
                             f"got {losses.shape[0]}")
        if not losses.is_floating_point():
            raise ValueError(f"{self.name}: {what} must be a floating-point tensor, got {losses.dtype}")

    def _check(self, losses: Any, extra: Any = None) -> None:
        """Validate shape (free) and finiteness (one device sync, the only one per step)."""
        self._check_shape(losses)
        if extra is not None and (not isinstance(extra, torch.Tensor) or extra.numel() != 1):
            raise ValueError(f"{self.name}: extra (the regulariser) must be a scalar tensor or None, "
                             f"got {type(extra).__name__}"
                             + (f" of shape {tuple(extra.shape)}" if isinstance(extra, torch.Tensor) else ""))
        d = losses.detach()
        ok = torch.isfinite(d).all()
        more = self._extra_ok(d)
        if more is not None:
            ok = ok & more
        if extra is not None:
            ok = ok & torch.isfinite(extra.detach()).all()
        if not bool(ok):
            raise ValueError(self._diagnose(d, extra))

    def _extra_ok(self, losses: torch.Tensor) -> torch.Tensor | None:
        """Subclass hook: a boolean tensor folded into the single finiteness check."""
        return None

    def _extra_message(self, losses: torch.Tensor) -> str | None:
        """Subclass hook: the message when ``_extra_ok`` failed."""
        return None

    def _diagnose(self, losses: torch.Tensor, extra: Any = None) -> str:
        bad = (~torch.isfinite(losses)).nonzero().flatten().tolist()
        if bad:
            vals = losses.tolist()
            what = ", ".join(f"loss of task {t} is {vals[t]}" for t in bad)
            return f"{self.name}: {what} (losses must be finite)"
        msg = self._extra_message(losses)
        if msg is not None:
            return msg
        if extra is not None:
            return f"{self.name}: the regulariser (extra) is {float(extra.detach())} (must be finite)"
        return f"{self.name}: invalid losses {losses.tolist()}"  # pragma: no cover

    # ------------------------------------------------------------------ interface
    def loss(self, losses: torch.Tensor) -> torch.Tensor:
        """Differentiable scalar objective ``J(L_1, ..., L_m)``; ``losses`` has shape (m,)."""
        self._check(losses)
        return self._loss(losses)

    def weights(self, losses: torch.Tensor, grads: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Effective weights ``dJ/dL_i``, shape (m,), detached, on the device of ``losses``."""
        self._check(losses)
        return self._weights(losses.detach())

    def backward(self, losses: torch.Tensor, shared_params: Sequence[torch.Tensor] = (),
                 extra: torch.Tensor | None = None, *, task_params=None, reps=None) -> torch.Tensor:
        """Backward pass of ``J(L) + extra``; returns the (m,) weights used (detached).

        Loss-based balancers need no parameters: one ``backward`` of the scalar, as cheap
        as the direct sum. ``shared_params``, ``task_params`` and ``reps`` are accepted for
        interface compatibility with MGDA and ignored.
        """
        self._check(losses, extra)
        J = self._loss(losses)
        if extra is not None:
            J = J + extra.reshape(())
        J.backward()
        return self._weights(losses.detach())

    def end_epoch(self, epoch_mean_losses: torch.Tensor) -> None:
        """Called once per epoch with the (m,) mean raw training losses; history users override."""
        self._check_shape(epoch_mean_losses, "epoch_mean_losses")

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} defines no loss")

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    # -------------------------------------------------------------- serialisation
    def get_params(self) -> dict:
        """The constructor arguments (scikit-learn style)."""
        return {k: copy.deepcopy(getattr(self, k)) for k in self._param_names}

    def _state(self) -> dict:
        """Subclass hook: mutable state (beyond the constructor arguments)."""
        return {}

    def _load_state(self, state: dict) -> None:
        pass

    def state_dict(self) -> dict:
        """``{"name", "params", "state"}``: enough to rebuild the balancer exactly."""
        return {"name": self.name, "params": self.get_params(), "state": copy.deepcopy(self._state())}

    def load_state_dict(self, d: dict) -> None:
        """Restore parameters (re-validated) and state from :meth:`state_dict`'s output."""
        if not isinstance(d, dict) or not {"name", "params", "state"} <= set(d):
            raise ValueError(f"{self.name}: a state dict needs the keys 'name', 'params', 'state'")
        if d["name"] != self.name:
            raise ValueError(f"{self.name}: cannot load the state of balancer {d['name']!r}")
        self.__init__(**copy.deepcopy(d["params"]))
        self._load_state(copy.deepcopy(d["state"]))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def check_positive(owner: str, name: str, value: Any, allow_inf: bool = False) -> float:
    """``float(value)`` if it is a positive number, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or (math.isinf(value) and not allow_inf) or math.isnan(value):
        raise ValueError(f"{owner}: {name} must be a positive finite number, got {value!r}")
    return float(value)
