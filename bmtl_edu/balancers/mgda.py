"""MGDA / MGDA-UB — the multiple-gradient descent of Sener & Koltun (2018) (paper Sec. 2.5).

Each step solves paper problem (6), ``alpha = argmin_{alpha in simplex} ||sum_t alpha_t g_t||^2``,
on the tasks' gradients ``g_t`` and updates the shared parameters along ``sum_t alpha_t g_t``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.autograd.graph import GradientEdge

from .base import Balancer
from .min_norm import SOLVERS, min_norm

__all__ = ["MGDA"]

NORMALIZATIONS = ("none", "l2", "loss", "loss+")
SPACES = ("param", "rep")
REDUCTIONS = ("flatten", "sum")


class MGDA(Balancer):
    """MGDA in parameter space (default) or representation space (MGDA-UB).

    Per step and task ``t`` one ``torch.autograd.grad`` call gives ``g_t`` (gradient of
    ``L_t`` on the shared parameters, flattened; or on the shared representations for
    ``space="rep"``) together with the task's own parameter gradients. ``alpha`` solves
    problem (6) on the (optionally normalised) Gram matrix ``G G^T``. Then, following the
    paper's Alg. 2 (SPEC §3.6):

    * shared parameters get ``sum_t alpha_t g_t`` with the **raw** gradients
      (``apply_to_normalized=True``: with the normalised ones, as LibMTL does);
    * task ``t``'s parameters get their own unscaled gradient
      (``scale_task_specific=True``: scaled by ``alpha_t``, as the authors' code does);
    * ``extra`` (the regulariser) is back-propagated on its own, with weight 1.

    Gradients are accumulated into ``.grad``. There is no second full backward pass.

    Args:
        normalization: ``"none"`` (default; the paper has none), ``"l2"`` (``g_t/||g_t||``,
            scale-invariant), ``"loss"`` (``g_t/L_t``) or ``"loss+"`` (``g_t/(L_t ||g_t||)``),
            applied before solving (the authors' code options).
        space: ``"param"`` (MGDA) or ``"rep"`` (MGDA-UB: gradients with respect to the shared
            representations ``reps``). With task-specific inputs the UB Gram is diagonal and
            alpha is inverse-squared-gradient-norm weighting (SPEC §3.6).
        rep_reduction: for ``space="rep"``: ``"flatten"`` (the batch flattened, the
            authors' code) or ``"sum"`` (summed over the batch, LibMTL).
        solver: ``"exact"`` (default), ``"frank_wolfe"`` (paper Alg. 2) or ``"pgd"``.
        scale_task_specific: scale task-specific gradients by ``alpha_t``.
        apply_to_normalized: update shared parameters with the normalised gradients.
        n_tasks: number of tasks (optional; checked when given).
    """

    name = "mgda"
    needs_grads = True
    _param_names = ("normalization", "space", "rep_reduction", "solver", "scale_task_specific",
                    "apply_to_normalized", "n_tasks")

    def __init__(self, normalization: str = "none", space: str = "param", rep_reduction: str = "flatten",
                 solver: str = "exact", scale_task_specific: bool = False,
                 apply_to_normalized: bool = False, n_tasks: int | None = None):
        super().__init__(n_tasks)
        for arg, value, valid in (("normalization", normalization, NORMALIZATIONS),
                                  ("space", space, SPACES), ("rep_reduction", rep_reduction, REDUCTIONS),
                                  ("solver", solver, tuple(SOLVERS))):
            if value not in valid:
                raise ValueError(f"mgda: unknown {arg} {value!r}; valid: {', '.join(valid)}")
        for arg, value in (("scale_task_specific", scale_task_specific),
                           ("apply_to_normalized", apply_to_normalized)):
            if not isinstance(value, bool):
                raise ValueError(f"mgda: {arg} must be True or False, got {value!r}")
        self.normalization = normalization
        self.space = space
        self.rep_reduction = rep_reduction
        self.solver = solver
        self.scale_task_specific = scale_task_specific
        self.apply_to_normalized = apply_to_normalized
        self.last_alpha: torch.Tensor | None = None

    # --------------------------------------------------------------- the QP part
    @staticmethod
    def _gram(vecs: list[list[torch.Tensor | None]], losses: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Gram matrix of the task gradients (float64 NumPy) and the losses, in one transfer.

        ``vecs[t][k]`` is the flat gradient of task t on block k (None: zero). The Gram is
        summed blockwise from dot products of views: no concatenated copy of the gradients,
        which on Office-31 shapes (2.4 M shared weights) cost more than the dot products.
        """
        m = len(vecs)
        zero = losses.new_zeros(())
        entries = {}
        for s in range(m):
            for t in range(s, m):
                acc = zero
                for a, b in zip(vecs[s], vecs[t]):
                    if a is not None and b is not None:
                        acc = acc + torch.dot(a, b)
                entries[s, t] = acc
        flat = torch.stack([entries[min(s, t), max(s, t)] for s in range(m) for t in range(m)]
                           + list(losses.detach().to(zero.dtype)))
        host = flat.detach().to("cpu", torch.float64).numpy()  # the one device sync
        M = host[:m * m].reshape(m, m)
        diag = np.diag(M)
        if not np.isfinite(M).all():
            bad = [t for t in range(m) if not np.isfinite(diag[t])] or [int(np.argwhere(~np.isfinite(M))[0][0])]
            raise ValueError(f"mgda: the gradient of task {bad[0]} is not finite (Gram entry nan/inf)")
        return M, host[m * m:]

    def _normalizers(self, M: np.ndarray, losses: np.ndarray) -> np.ndarray | None:
        """Per-task normalisers n_t, or None for 'none'; a zero one is replaced by 1."""
        if self.normalization == "none":
            return None
        n = np.ones(M.shape[0])
        if self.normalization in ("l2", "loss+"):
            n = n * np.sqrt(np.maximum(np.diag(M), 0.0))
        if self.normalization in ("loss", "loss+"):
            n = n * losses
        return np.where(n > 0, n, 1.0)

    def _solve(self, vecs, losses: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(alpha, coef) as float64 arrays: coef_t multiplies the raw gradient g_t in the update."""
        M, L = self._gram(vecs, losses)
        n = self._normalizers(M, L)
        Mn = M if n is None else M / np.outer(n, n)
        alpha = min_norm(Mn, self.solver)
        coef = alpha / n if (self.apply_to_normalized and n is not None) else alpha
        self.last_alpha = torch.as_tensor(alpha)
        return alpha, coef

    def weights(self, losses: torch.Tensor, grads: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """alpha, shape (m,), from ``grads`` (one flat gradient per task) or the last step.

        Raises:
            ValueError: without grads and before any backward step, or on NaN gradients.
        """
        self._check(losses)
        if grads is None:
            if self.last_alpha is None or self.last_alpha.shape[0] != losses.shape[0]:
                raise ValueError("mgda: weights() needs grads=[g_1, ..., g_m] (flat per-task gradients) "
                                 "before the first backward step")
            return self.last_alpha.to(device=losses.device, dtype=losses.dtype)
        if len(grads) != losses.shape[0]:
            raise ValueError(f"mgda: got {len(grads)} gradients for {losses.shape[0]} losses")
        flat = [torch.as_tensor(g).reshape(-1).to(losses.dtype) for g in grads]
        if len({f.numel() for f in flat}) != 1:
            raise ValueError(f"mgda: the gradients have different sizes {[f.numel() for f in flat]}")
        alpha, _ = self._solve([[f] for f in flat], losses.detach())
        return torch.as_tensor(alpha, dtype=losses.dtype, device=losses.device)

    def _loss(self, losses: torch.Tensor) -> torch.Tensor:
        # the surrogate sum_t alpha_t L_t with alpha held fixed (uniform before any step):
        # its gradient on shared parameters is MGDA's update direction
        m = losses.shape[0]
        alpha = self.last_alpha if self.last_alpha is not None and self.last_alpha.shape[0] == m \
            else torch.full((m,), 1.0 / m)
        return (alpha.to(losses) * losses).sum()

    def _weights(self, losses: torch.Tensor) -> torch.Tensor:
        return self.weights(losses)

    # --------------------------------------------------------------- the backward
    @staticmethod
    def _task_outputs(losses: torch.Tensor) -> list:
        """Per-task autograd roots: the stacked inputs' edges when ``losses`` is a
        ``torch.stack``, so that task t's backward does not run through the other tasks'
        graphs with zero gradients (which indexing ``losses[t]`` would do)."""
        fn = losses.grad_fn
        m = losses.shape[0]
        if fn is not None and type(fn).__name__ == "StackBackward0" and len(fn.next_functions) == m:
            edges = fn.next_functions
            if all(node is not None for node, _ in edges):
                return [GradientEdge(node, nr) for node, nr in edges]
        return [losses[t] for t in range(m)]

    def _grads(self, root, inputs: list[torch.Tensor], like: torch.Tensor):
        if not inputs:
            return []
        if isinstance(root, GradientEdge):
            out = torch.autograd.grad([root], inputs, grad_outputs=[torch.ones((), dtype=like.dtype,
                                                                              device=like.device)],
                                      retain_graph=True, allow_unused=True)
        else:
            out = torch.autograd.grad(root, inputs, retain_graph=True, allow_unused=True)
        return list(out)

    def backward(self, losses: torch.Tensor, shared_params: Sequence[torch.Tensor] = (),
                 extra: torch.Tensor | None = None, *, task_params=None, reps=None) -> torch.Tensor:
        """One MGDA step's backward; returns alpha (m,), detached.

        Args:
            losses: (m,) stacked per-task losses.
            shared_params: the shared parameters (``model.shared_parameters()``).
            extra: the regulariser, back-propagated with weight 1 (or None).
            task_params: ``task_params[t]`` = ``model.task_parameters(t)``. When None, the
                non-shared leaves are found by walking the autograd graph once per step.
            reps: for ``space="rep"``: ``reps[t]`` is task t's shared representation.
        """
        self._check(losses, extra)
        if not losses.requires_grad:
            raise ValueError("mgda: losses do not require grad (computed under no_grad?)")
        m = losses.shape[0]
        shared = list(shared_params)
        if not shared:
            raise ValueError("mgda: shared_params is empty; pass model.shared_parameters()")
        if task_params is not None and len(task_params) != m:
            raise ValueError(f"mgda: task_params has {len(task_params)} entries for {m} tasks")
        if self.space == "rep":
            if reps is None or len(reps) != m:
                raise ValueError(f"mgda: space='rep' needs reps, one representation per task ({m})")
            targets = self._unique(reps)
        else:
            targets = shared
        shared_ids = {id(p) for p in shared}
        own = None
        if task_params is not None:
            own = [[p for p in self._unique(task_params[t]) if id(p) not in shared_ids and p.requires_grad]
                   for t in range(m)]

        roots = self._task_outputs(losses)
        vecs, raw, task_grads = [], [], []
        for t in range(m):
            inputs = targets + (own[t] if own is not None else [])
            g = self._grads(roots[t], inputs, losses)
            raw.append(g[:len(targets)])
            task_grads.append(g[len(targets):])
            vecs.append(self._vectors(raw[t], targets, reps[t] if self.space == "rep" else None))
        alpha_np, coef_np = self._solve(vecs, losses.detach())  # NaN gradients raise here
        del vecs
        alpha = torch.as_tensor(alpha_np, dtype=losses.dtype, device=losses.device)

        # shared update sum_t coef_t g_t, accumulated in place into task 0's fresh buffers
        total = self._combine(raw, [float(c) for c in coef_np], targets)
        if self.space == "param":
            for p, g in zip(shared, total):
                if g is None:
                    continue
                if p.grad is None:
                    p.grad = g
                else:
                    p.grad.add_(g)
        else:
            pairs = [(z, g) for z, g in zip(targets, total) if g is not None]
            if pairs:
                torch.autograd.backward([z for z, _ in pairs], grad_tensors=[g for _, g in pairs],
                                        inputs=shared, retain_graph=True)

        if own is not None:
            for t in range(m):
                for p, g in zip(own[t], task_grads[t]):
                    if g is None:
                        continue
                    if self.scale_task_specific:
                        g = g.mul_(float(alpha_np[t]))
                    if p.grad is None:
                        p.grad = g  # a fresh tensor from autograd.grad
                    else:
                        p.grad.add_(g)
        else:
            self._backward_rest(losses, roots, shared_ids, alpha)
        if extra is not None:
            extra.reshape(()).backward()
        return alpha.detach()

    @staticmethod
    def _unique(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        seen, out = set(), []
        for x in tensors:
            if id(x) not in seen:
                seen.add(id(x))
                out.append(x)
        return out

    def _vectors(self, grads, targets, rep) -> list[torch.Tensor | None]:
        """Flat views of one task's gradients, one per block (``"sum"``: one reduced vector)."""
        if self.space == "rep" and self.rep_reduction == "sum":
            # LibMTL: the task's gradient on its own representation, summed over the batch
            g = grads[next(i for i, x in enumerate(targets) if x is rep)]
            return [None if g is None else g.reshape(-1, rep.shape[-1]).sum(0)]
        return [None if g is None else g.reshape(-1) for g in grads]

    @staticmethod
    def _combine(raw, coef: list[float], targets) -> list[torch.Tensor | None]:
        """Per block: sum_t coef_t g_t, written into the first available buffer (no copies)."""
        out = []
        for k in range(len(targets)):
            acc = None
            for t, grads in enumerate(raw):
                g = grads[k]
                if g is None:
                    continue
                acc = g.mul_(coef[t]) if acc is None else acc.add_(g, alpha=coef[t])
            out.append(acc)
        return out

    def _backward_rest(self, losses, roots, shared_ids, alpha) -> None:
        """Task-specific gradients when task_params is not given: one backward restricted to
        the non-shared leaves found by walking the graph (cheap: a few dozen nodes)."""
        leaves, seen, stack = [], set(), [losses.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            var = getattr(node, "variable", None)
            if var is not None:
                if id(var) not in shared_ids:
                    leaves.append(var)
                continue
            stack.extend(fn for fn, _ in node.next_functions)
        if not leaves:
            return
        w = alpha.to(losses.dtype) if self.scale_task_specific else torch.ones_like(losses)
        torch.autograd.backward((w * losses).sum(), inputs=leaves, retain_graph=True)

    def _state(self) -> dict:
        return {"last_alpha": None if self.last_alpha is None else self.last_alpha.tolist()}

    def _load_state(self, state: dict) -> None:
        a = state.get("last_alpha")
        self.last_alpha = None if a is None else torch.tensor(a, dtype=torch.float64)
