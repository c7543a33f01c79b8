"""Loss transformations ``h`` of BMTL and the numerical check of the paper's Theorem 1.

BMTL (Liang & Zhang 2020, problem (8)) minimises ``sum_i h(L_i) + r(Theta)`` with a
convex increasing ``h``; the gradient ``sum_i h'(L_i) grad L_i`` gives task ``i`` the
weight ``h'(L_i)`` (problem (9)), so a harder task (larger loss) gets a larger weight.

* :class:`Exp` — ``h(z) = exp(z / T)``, the paper's choice (``T = 50`` in Sec. 4.1).
* :class:`Polynomial` — ``h(z) = sum_k c_k z^k`` with ``c_k >= 0``, named in the paper as
  future work.
* :class:`Identity` — ``h(z) = z``: the direct sum.

Every transform works on a torch tensor (returns a tensor, differentiable) or on a Python
/ NumPy number or array (returns a float / NumPy array).

:func:`check_theorem1` checks Theorem 1's requirements numerically for any callable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

__all__ = ["Transform", "Exp", "Polynomial", "Identity", "Theorem1Report", "check_theorem1",
           "FLOAT32_EXP_LIMIT"]

#: ``log(float32 max)``: ``exp(x)`` overflows to ``inf`` in float32 for ``x`` above this.
FLOAT32_EXP_LIMIT = math.log(torch.finfo(torch.float32).max)  # 88.7228...


def _apply(z, fn: Callable[[torch.Tensor], torch.Tensor]):
    """Evaluate ``fn`` on a tensor as is; on numbers / arrays in float64 and convert back."""
    if isinstance(z, torch.Tensor):
        return fn(z)
    arr = np.asarray(z, dtype=np.float64)
    out = fn(torch.from_numpy(arr)).numpy()
    return float(out) if out.ndim == 0 else out


class Transform:
    """Base class of the loss transformations ``h``: value and first two derivatives.

    Subclasses implement ``_value``, ``_derivative`` and ``_second`` on tensors; the public
    methods accept tensors (shape preserved, differentiable) or numbers / arrays.
    """

    def __call__(self, z):
        """``h(z)``, elementwise."""
        return _apply(z, self._value)

    def derivative(self, z):
        """``h'(z)``, elementwise: the weight BMTL gives a task with loss ``z`` (eq. (9))."""
        return _apply(z, self._derivative)

    def second_derivative(self, z):
        """``h''(z)``, elementwise (used to tell convex from strongly convex)."""
        return _apply(z, self._second)

    #: largest input at which ``h`` is safe to evaluate in float32 (``inf``: no limit known).
    overflow_threshold: float = math.inf

    def to_dict(self) -> dict:
        """``{"type": class name, **constructor arguments}``: JSON, for ``state_dict()``."""
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self).items()
                  if not k.startswith("_")}
        return {"type": type(self).__name__, **params}

    @staticmethod
    def from_dict(d: dict) -> "Transform":
        """Inverse of :meth:`to_dict` for this module's transforms and any subclass."""
        if not isinstance(d, dict) or "type" not in d:
            raise ValueError(f"a transform dict needs a 'type' key, got {d!r}")
        known: dict[str, type] = {}
        todo = [Transform]
        while todo:  # every subclass, also those users define
            cls = todo.pop()
            known[cls.__name__] = cls
            todo.extend(cls.__subclasses__())
        kind = d["type"]
        if kind not in known or kind == "Transform":
            raise ValueError(f"unknown transform type {kind!r}; known: "
                             f"{', '.join(sorted(k for k in known if k != 'Transform'))}")
        return known[kind](**{k: v for k, v in d.items() if k != "type"})

    def overflow_message(self, losses: torch.Tensor) -> str | None:
        """A message when ``h`` cannot be evaluated safely at ``losses``, else ``None``.

        Slow path (it reads the losses back): call it only after a cheap check failed.
        """
        return None

    def _value(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _derivative(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _second(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Exp(Transform):
    """``h(z) = exp(z / T)``, BMTL's transformation (paper Sec. 3.2, T = 50 in Sec. 4.1).

    ``h'(z) = exp(z/T) / T`` and ``h''(z) = exp(z/T) / T^2 > 0``: strongly convex on
    ``[0, inf)`` with modulus ``1/T^2``. Normalised weights ``h'(L) / sum h'(L)`` are
    ``softmax(L / T)``.

    Args:
        T: temperature, ``T > 0``. Large ``T`` approaches the direct sum's direction,
            small ``T`` the maximum's.
    """

    def __init__(self, T: float = 50.0):
        if isinstance(T, bool) or not isinstance(T, (int, float)) or not (math.isfinite(T) and T > 0):
            raise ValueError(f"Exp: T must be a positive finite number, got {T!r}")
        self.T = float(T)

    def _value(self, z):
        return torch.exp(z / self.T)

    def _derivative(self, z):
        return torch.exp(z / self.T) / self.T

    def _second(self, z):
        return torch.exp(z / self.T) / self.T ** 2

    @property
    def overflow_threshold(self) -> float:
        """Largest loss ``L`` with ``exp(L / T)`` finite in float32: ``88.72 T``."""
        return FLOAT32_EXP_LIMIT * self.T

    def overflow_message(self, losses: torch.Tensor) -> str | None:
        worst = int(torch.argmax(losses.detach()))
        ratio = float(losses[worst]) / self.T
        if ratio > FLOAT32_EXP_LIMIT:
            return (f"bmtl: loss of task {worst} is {float(losses[worst]):.4g}, so L/T = {ratio:.4g} "
                    f"exceeds {FLOAT32_EXP_LIMIT:.2f} and exp(L/T) overflows float32; "
                    f"standardise the targets (e.g. SARCOS torques) or raise T (now {self.T:g})")
        return None

    def __repr__(self) -> str:
        return f"Exp(T={self.T:g})"


class Polynomial(Transform):
    """``h(z) = sum_k c_k z^k`` with non-negative coefficients (paper Sec. 3.2, future work).

    Non-negative coefficients make ``h``, ``h'`` and ``h''`` non-negative and
    non-decreasing on ``[0, inf)``, so Theorem 1's requirements hold; ``h'`` is strictly
    increasing as soon as some ``c_k > 0`` with ``k >= 2``. Strong convexity needs
    ``c_2 > 0`` (``h(z) = z + z^3`` has ``h''(0) = 0``: convex, not strongly convex).

    Args:
        coeffs: ``(c_0, c_1, ..., c_K)``, all ``>= 0`` and finite, not all zero.
    """

    def __init__(self, coeffs: Sequence[float]):
        try:
            cs = [float(c) for c in coeffs]
        except (TypeError, ValueError):
            raise ValueError(f"Polynomial: coeffs must be a sequence of numbers, got {coeffs!r}") from None
        if not cs:
            raise ValueError("Polynomial: coeffs must not be empty")
        bad = [k for k, c in enumerate(cs) if not math.isfinite(c) or c < 0]
        if bad:
            raise ValueError(f"Polynomial: coefficients must be finite and >= 0; c_{bad[0]} = {cs[bad[0]]!r}")
        if all(c == 0 for c in cs):
            raise ValueError("Polynomial: coefficients must not all be zero")
        self.coeffs = tuple(cs)

    @staticmethod
    def _horner(cs: Sequence[float], z: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(z) + cs[-1] if cs else torch.zeros_like(z)
        for c in reversed(cs[:-1]):
            out = out * z + c
        return out

    def _value(self, z):
        return self._horner(self.coeffs, z)

    def _derivative(self, z):
        d1 = [k * c for k, c in enumerate(self.coeffs)][1:]
        return self._horner(d1, z) if d1 else torch.zeros_like(z)

    def _second(self, z):
        d2 = [k * (k - 1) * c for k, c in enumerate(self.coeffs)][2:]
        return self._horner(d2, z) if d2 else torch.zeros_like(z)

    def __repr__(self) -> str:
        return f"Polynomial(coeffs={list(self.coeffs)!r})"


class Identity(Transform):
    """``h(z) = z``: BMTL with it is the direct sum.

    It meets ``h(0) >= 0``, ``h'(0) >= 0``, ``h`` and ``h'`` non-decreasing (``h' = 1`` is
    constant), but the paper says it "does not satisfy Theorem 1" (Sec. 3.2): the
    requirement is that ``h'`` be *strictly* increasing, so that a harder task gets a
    strictly larger weight. :func:`check_theorem1` reports that condition on its own line,
    which Identity fails.
    """

    def _value(self, z):
        return z * 1.0

    def _derivative(self, z):
        return torch.ones_like(z)

    def _second(self, z):
        return torch.zeros_like(z)

    def __repr__(self) -> str:
        return "Identity()"


@dataclass
class Theorem1Report:
    """Result of :func:`check_theorem1`.

    ``conditions`` maps a readable condition to whether it holds; ``ok`` is True when all
    of Theorem 1's requirements hold (``h(0) >= 0``, ``h'(0) >= 0``, ``h`` non-decreasing,
    ``h'`` strictly increasing). Convexity and strong convexity are reported as
    consequences: only convexity follows from the requirements (the paper's "strongly
    convex" is an erratum, SPEC §4.8: ``h(z) = z + z^3`` has ``h''(0) = 0``).
    """

    h_name: str
    upper: float
    conditions: dict[str, bool] = field(default_factory=dict)
    convex: bool = False
    strongly_convex: bool = False
    min_second_derivative: float = float("nan")

    @property
    def ok(self) -> bool:
        return all(self.conditions.values())

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        mark = lambda b: "\u2713" if b else "\u2717"  # noqa: E731
        lines = [f"Theorem 1 check of {self.h_name} on [0, {self.upper:g}]: "
                 + ("satisfied" if self.ok else "NOT satisfied")]
        lines += [f"  {mark(v)} {k}" for k, v in self.conditions.items()]
        lines.append(f"  consequences: {mark(self.convex)} convex; {mark(self.strongly_convex)} "
                     f"strongly convex (min h'' = {self.min_second_derivative:.3g})")
        return "\n".join(lines)


def check_theorem1(h: Callable, upper: float = 1.0, n_points: int = 2001,
                   tol: float = 1e-12) -> Theorem1Report:
    """Check Theorem 1's requirements on ``h`` numerically over ``[0, upper]``.

    Theorem 1 (paper Sec. 3.2) asks ``h(0) >= 0``, ``h'(0) >= 0``, ``h`` increasing and
    ``h'`` increasing. The grid check reports ``h`` non-decreasing, ``h'`` non-decreasing and
    ``h'`` strictly increasing as separate lines (Identity passes the first two, fails the
    third). It also reports convexity (``h'`` non-decreasing) and strong convexity
    (``min h'' > 0`` on the grid): the paper claims strong convexity, but only convexity
    follows (SPEC §4.8).

    Args:
        h: a :class:`Transform` (its exact derivatives are used) or any callable mapping a
            float64 tensor to a tensor elementwise (derivatives by autograd).
        upper: right end of the interval (losses in [0, 1] in the paper's theory).
        n_points: grid size, >= 3.
        tol: slack for the ``>=`` comparisons, relative to the magnitude of the values.

    Returns:
        A :class:`Theorem1Report`; ``report.ok`` and ``str(report)``.
    """
    if not callable(h):
        raise ValueError(f"check_theorem1: h must be callable, got {type(h).__name__}")
    if not (isinstance(upper, (int, float)) and math.isfinite(upper) and upper > 0):
        raise ValueError(f"check_theorem1: upper must be a positive number, got {upper!r}")
    if not (isinstance(n_points, int) and n_points >= 3):
        raise ValueError(f"check_theorem1: n_points must be an integer >= 3, got {n_points!r}")
    z = torch.linspace(0.0, float(upper), n_points, dtype=torch.float64)
    if isinstance(h, Transform):
        v, d1, d2 = h(z), h.derivative(z), h.second_derivative(z)
    else:
        v, d1, d2 = _autograd_derivatives(h, z)
    v, d1, d2 = (t.detach().to(torch.float64) for t in (v, d1, d2))
    if not (torch.isfinite(v).all() and torch.isfinite(d1).all()):
        raise ValueError(f"check_theorem1: h or h' is not finite on [0, {upper:g}]")

    def slack(x):
        return tol * max(1.0, float(x.abs().max()))

    dv, dd = torch.diff(v), torch.diff(d1)
    conditions = {
        "h(0) >= 0": bool(v[0] >= -slack(v)),
        "h'(0) >= 0": bool(d1[0] >= -slack(d1)),
        "h non-decreasing": bool((dv >= -slack(v)).all()),
        "h' non-decreasing": bool((dd >= -slack(d1)).all()),
        "h' strictly increasing": bool((dd > slack(d1)).all()),
    }
    min_d2 = float(d2.min()) if torch.isfinite(d2).all() else float("nan")
    name = repr(h) if isinstance(h, Transform) else getattr(h, "__name__", repr(h))
    return Theorem1Report(h_name=name, upper=float(upper), conditions=conditions,
                          convex=conditions["h' non-decreasing"],
                          strongly_convex=bool(min_d2 > slack(d1)) if math.isfinite(min_d2) else False,
                          min_second_derivative=min_d2)


def _autograd_derivatives(h: Callable, z: torch.Tensor):
    """``h(z)``, ``h'(z)``, ``h''(z)`` of an elementwise callable by autograd."""
    x = z.clone().requires_grad_(True)
    with torch.enable_grad():
        v = h(x)
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            raise ValueError("check_theorem1: h must map a tensor to a tensor of the same shape "
                             "(elementwise, written with torch operations)")
        if not v.requires_grad:  # a constant h: zero derivatives
            zeros = torch.zeros_like(z)
            return v, zeros, zeros
        (d1,) = torch.autograd.grad(v.sum(), x, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), x, allow_unused=True)
            d2 = torch.zeros_like(z) if d2 is None else d2
        else:
            d2 = torch.zeros_like(z)
    return v, d1, d2
