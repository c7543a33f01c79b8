"""DMTRL: deep multi-task representation learning by tensor factorisation (Yang & Hospedales 2017).

SPEC §2.2, application A (the default; OPEN which one the paper used, SPEC §7 item 1): the first
layer ``d -> hidden`` is hard-shared as in DMTL, and the stacked head tensor
``W in R^{hidden x C x m}`` (task axis last, ``W[:, :, t]`` = task t's head as in x out) is
parameterised by a Tucker, tensor-train (TT) or last-axis-flattening (LAF) factorisation whose
task-mode factor is task-specific and whose other factors are shared:

* Tucker: ``W = G x_1 U_in x_2 U_out x_3 U_task``; shared G, U_in, U_out; task t owns ``U_task[t]``.
* TT: ``W[a, b, t] = sum_pq G_in[a, p] G_out[p, b, q] U_task[t, q]``; task t owns ``U_task[t]``.
* LAF: ``W[:, :, t] = reshape(L @ U_task[t])``; shared L; task t owns ``U_task[t]``.

The task factor is stored task-first, ``(m, K)``, so task t's factor is row t. Biases stay per
task and unfactorised. Layer-1 factorisation (application B) is not implemented.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .base import DEFAULT_REG, MultiTaskNet, check_sizes, frobenius_sq, init_stacked_
from .tensor import (EpsOrK, hosvd, laf_svd, laf_to_tensor, tt_svd, tt_to_tensor,
                     tucker_to_tensor)

__all__ = ["DMTRL", "FACTORIZATIONS", "n_factor_parameters"]

log = logging.getLogger(__name__)

FACTORIZATIONS = ("tucker", "tt", "laf")
_N_RANKS = {"tucker": 3, "tt": 2, "laf": 1}


def _check_factorization(factorization: str) -> str:
    if factorization not in FACTORIZATIONS:
        raise KeyError(f"unknown factorization {factorization!r}; valid: {', '.join(FACTORIZATIONS)}")
    return factorization


def n_factor_parameters(factorization: str, hidden: int, out_dim: int, n_tasks: int,
                        ranks: Sequence[int] | int) -> int:
    """Number of head-factor parameters (biases excluded) for the given ranks (SPEC §2.2, §6.4).

    Tucker ranks ``(K1, K2, K3)``, TT ranks ``(r1, r2)``, LAF rank ``K``.
    """
    _check_factorization(factorization)
    r = [ranks] if isinstance(ranks, int) else list(ranks)
    if len(r) != _N_RANKS[factorization]:
        raise ValueError(f"{factorization} needs {_N_RANKS[factorization]} ranks, got {len(r)}")
    H, C, m = hidden, out_dim, n_tasks
    if factorization == "tucker":
        return math.prod(r) + H * r[0] + C * r[1] + m * r[2]
    if factorization == "tt":
        return H * r[0] + r[0] * C * r[1] + r[1] * m
    return H * C * r[0] + r[0] * m


class DMTRL(MultiTaskNet):
    """DMTL whose head tensor is factorised with shared and task-specific factors (SPEC §2.2).

    Args:
        in_dim, n_tasks, out_dim: d, m and C.
        hidden: width of the hard-shared first layer (paper: 600).
        factorization: ``"tucker"``, ``"tt"`` or ``"laf"``.
        eps: relative-error rank rule ``rank = #{sigma_k > eps sigma_1}`` used for every mode whose
            rank is not given (default 0.1, the authors' demo; SPEC §2.2).
        ranks: explicit ranks, overriding ``eps``: Tucker ``(K1, K2, K3)``, TT ``(r1, r2)``, LAF
            ``K`` (an int or a 1-sequence). Entries may be ``None`` (use ``eps``) or a float eps.
            An explicit rank above a mode's maximum raises ``ValueError``.
        max_task_rank: cap on an eps-selected task-mode rank (K3, r2, K). ``None`` means
            ``max(1, m - 1)``: with m = 3-4 tasks the eps rule keeps all m singular values and a
            full task rank imposes no sharing at all (SPEC §2.2 warning). Pass ``m`` to disable.
        init_heads: stacked heads (m, C, hidden), e.g. from a trained DMTL, decomposed to
            initialise the factors; default a random tensor with PyTorch's default Linear scale.
        reg: lambda of lambda * r(Theta), r = ||W1||^2 + sum_t ||W2_t||^2 (reconstructed heads).

    Attributes:
        selected_ranks: the ranks the decomposition kept (also logged at INFO level).

    The full head tensor is rebuilt at most once per training step: it is cached and reused
    while the factors are unchanged (their ``_version`` counters) and no backward pass has gone
    through it yet; ``begin_step()`` drops the cache explicitly.
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
                 factorization: str = "tucker", eps: float = 0.1,
                 ranks: int | Sequence[EpsOrK | None] | None = None,
                 max_task_rank: int | None = None, init_heads: Tensor | None = None,
                 reg: float = DEFAULT_REG) -> None:
        super().__init__(in_dim, n_tasks, out_dim, reg)
        check_sizes(hidden=hidden)
        self.hidden = int(hidden)
        self.factorization = _check_factorization(factorization)
        if isinstance(eps, bool) or not isinstance(eps, (float, int)) or not 0.0 < float(eps) < 1.0:
            raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
        self.eps = float(eps)
        if max_task_rank is None:
            max_task_rank = max(1, n_tasks - 1)
        check_sizes(max_task_rank=max_task_rank)
        self.max_task_rank = max_task_rank
        self.shared = nn.Linear(in_dim, hidden)
        self.head_bias = nn.Parameter(torch.empty(n_tasks, out_dim))
        init_stacked_(self.head_bias, None, hidden)
        self._cache: Tensor | None = None
        self._cache_key: tuple | None = None
        self._shared_factor_names: tuple[str, ...] = ()
        self.selected_ranks: tuple[int, ...] = ()
        if init_heads is None:
            W0 = torch.empty(hidden, out_dim, n_tasks)
            init_stacked_(W0, None, hidden)
        else:
            W0 = self._check_heads(init_heads).detach().permute(2, 1, 0)
        self.decompose_(W0, ranks)

    # -- (re)initialisation ---------------------------------------------------------------------
    def _check_heads(self, heads: Tensor) -> Tensor:
        shape = (self.n_tasks, self.out_dim, self.hidden)
        if not isinstance(heads, Tensor) or tuple(heads.shape) != shape:
            got = tuple(heads.shape) if isinstance(heads, Tensor) else type(heads).__name__
            raise ValueError(f"init_heads must have shape (m, C, hidden) = {shape}, got {got}")
        if not torch.isfinite(heads).all():
            raise ValueError("init_heads contains NaN or inf")
        return heads

    def _mode_values(self, ranks) -> list[EpsOrK]:
        n = _N_RANKS[self.factorization]
        if ranks is None:
            given = [None] * n
        elif isinstance(ranks, (int, float)) and not isinstance(ranks, bool):
            given = [ranks] if n == 1 else None
            if given is None:
                raise ValueError(f"{self.factorization} needs {n} ranks, got the single value {ranks!r}")
        else:
            given = list(ranks)
            if len(given) != n:
                raise ValueError(f"{self.factorization} needs {n} ranks, got {len(given)}: {given}")
        return [self.eps if r is None else r for r in given]

    @torch.no_grad()
    def decompose_(self, W0: Tensor, ranks: int | Sequence[EpsOrK | None] | None = None) -> tuple[int, ...]:
        """Set the factors to a truncated decomposition of ``W0`` (hidden, C, m); returns the ranks.

        Tucker: truncated HOSVD; TT: TT-SVD; LAF: truncated SVD of the task-mode unfolding
        (SPEC §2.2). The task-mode rank, when chosen by eps, is capped by ``max_task_rank``.
        The factor Parameters are replaced: call this before creating the optimiser.
        """
        expected = (self.hidden, self.out_dim, self.n_tasks)
        if tuple(W0.shape) != expected:
            raise ValueError(f"W0 must have shape (hidden, C, m) = {expected}, got {tuple(W0.shape)}")
        like = self.head_bias
        W0 = W0.to(device=like.device, dtype=like.dtype)
        vals = self._mode_values(ranks)
        task_cap = None if isinstance(vals[-1], int) else self.max_task_rank
        for name in self._shared_factor_names + ("task_factor",):
            if hasattr(self, name):
                delattr(self, name)
        if self.factorization == "tucker":
            core, (U_in, U_out, U_task) = hosvd(W0, vals, max_ranks=[None, None, task_cap])
            self.core, self.U_in, self.U_out = (nn.Parameter(t.contiguous()) for t in (core, U_in, U_out))
            self.task_factor = nn.Parameter(U_task.contiguous())
            self._shared_factor_names = ("core", "U_in", "U_out")
            ranks_kept = tuple(core.shape)
        elif self.factorization == "tt":
            G1, G2, G3 = tt_svd(W0, vals, max_ranks=[None, task_cap])
            self.G_in = nn.Parameter(G1[0].contiguous())              # (hidden, r1)
            self.G_out = nn.Parameter(G2.contiguous())                # (r1, C, r2)
            self.task_factor = nn.Parameter(G3[:, :, 0].T.contiguous())  # (m, r2)
            self._shared_factor_names = ("G_in", "G_out")
            ranks_kept = (G1.shape[2], G2.shape[2])
        else:
            L, S = laf_svd(W0, vals[0], max_rank=task_cap)
            self.L = nn.Parameter(L.contiguous())                      # (hidden*C, K)
            self.task_factor = nn.Parameter(S.T.contiguous())         # (m, K)
            self._shared_factor_names = ("L",)
            ranks_kept = (L.shape[1],)
        self.selected_ranks = tuple(int(r) for r in ranks_kept)
        self.begin_step()
        log.info("DMTRL-%s head %s: selected ranks %s", self.factorization, expected, self.selected_ranks)
        return self.selected_ranks

    @classmethod
    def from_dmtl(cls, dmtl: MultiTaskNet, factorization: str = "tucker", *, eps: float = 0.1,
                  ranks: int | Sequence[EpsOrK | None] | None = None,
                  max_task_rank: int | None = None, reg: float | None = None) -> "DMTRL":
        """A DMTRL whose first layer and biases copy a (trained) DMTL and whose head factors are a
        truncated decomposition of that DMTL's stacked heads (SPEC §2.2, init consistency of A)."""
        for attr in ("shared", "head_weight", "head_bias", "hidden"):
            if not hasattr(dmtl, attr):
                raise ValueError(f"from_dmtl needs a DMTL-like model with .{attr}; got {type(dmtl).__name__}")
        W = dmtl.head_weight
        # Build (and decompose) in the DMTL's dtype, so a float64 DMTL gives a float64-exact
        # factorisation rather than one rounded through the default float32.
        default = torch.get_default_dtype()
        torch.set_default_dtype(W.dtype)
        try:
            model = cls(dmtl.in_dim, dmtl.n_tasks, dmtl.out_dim, hidden=dmtl.hidden,
                        factorization=factorization, eps=eps, ranks=ranks,
                        max_task_rank=max_task_rank, init_heads=W.detach().to("cpu", torch.float64),
                        reg=dmtl.reg if reg is None else reg)
        finally:
            torch.set_default_dtype(default)
        model.to(device=W.device, dtype=W.dtype)
        with torch.no_grad():
            model.shared.load_state_dict(dmtl.shared.state_dict())
            model.head_bias.copy_(dmtl.head_bias)
        return model

    # -- the head tensor, rebuilt once per step ---------------------------------------------------
    def _factors(self) -> list[nn.Parameter]:
        return [getattr(self, n) for n in self._shared_factor_names] + [self.task_factor]

    def _build(self) -> Tensor:
        H, C, m = self.hidden, self.out_dim, self.n_tasks
        if self.factorization == "tucker":
            W = tucker_to_tensor(self.core, [self.U_in, self.U_out, self.task_factor])
        elif self.factorization == "tt":
            W = tt_to_tensor([self.G_in.unsqueeze(0), self.G_out, self.task_factor.T.unsqueeze(-1)])
        else:
            W = laf_to_tensor(self.L, self.task_factor.T, (H, C, m))
        return W.permute(2, 0, 1).contiguous()  # (m, hidden, C): z @ W[t] is one matmul

    def _invalidate(self, grad: Tensor) -> None:
        # A backward pass went through the cached tensor: its graph may now be freed.
        self._cache = None

    def begin_step(self) -> None:
        """Forget the cached head tensor (the next forward rebuilds it)."""
        self._cache = None
        self._cache_key = None

    def stacked_heads(self) -> Tensor:
        """The reconstructed heads, (m, hidden, C), from the per-step cache."""
        key = (torch.is_grad_enabled(),) + tuple((p.data_ptr(), p._version, p.device, p.dtype)
                                                   for p in self._factors())
        if self._cache is None or self._cache_key != key:
            W = self._build()
            if W.requires_grad:
                W.register_hook(self._invalidate)
            self._cache, self._cache_key = W, key
        return self._cache

    def head_weights(self) -> Tensor:
        """The reconstructed heads in DMTL layout (m, C, hidden)."""
        return self.stacked_heads().transpose(1, 2)

    def __getstate__(self) -> dict:
        # The cache is a non-leaf tensor (deepcopy/pickle refuse those) and is cheap to rebuild.
        state = self.__dict__.copy()
        state["_cache"] = None
        state["_cache_key"] = None
        return state

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # Ranks chosen by eps depend on the initial tensor, so a saved model may have other factor
        # shapes than a fresh one: adopt the saved shapes (same Parameter objects) before loading.
        for name in self._shared_factor_names + ("task_factor",):
            saved = state_dict.get(prefix + name)
            p = getattr(self, name)
            if isinstance(saved, Tensor) and saved.shape != p.shape and saved.dim() == p.dim():
                p.data = p.data.new_empty(saved.shape)
        self.begin_step()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        t = self.task_factor.shape[1]
        if self.factorization == "tucker":
            self.selected_ranks = tuple(int(r) for r in self.core.shape)
        elif self.factorization == "tt":
            self.selected_ranks = (int(self.G_in.shape[1]), int(t))
        else:
            self.selected_ranks = (int(t),)

    # -- the MultiTaskNet contract ----------------------------------------------------------------
    def features(self, x: Tensor) -> Tensor:
        return self.shared(x).relu()

    def head(self, z: Tensor, task: int) -> Tensor:
        return z @ self.stacked_heads()[task] + self.head_bias[task]

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.shared.weight, self.shared.bias] + [getattr(self, n) for n in self._shared_factor_names]

    def task_parameters(self, t: int) -> list[nn.Parameter]:
        self.check_task(t)
        return [self.task_factor, self.head_bias]

    def penalty(self) -> Tensor:
        return frobenius_sq(self.shared.weight, self.stacked_heads())

    def n_factor_parameters(self) -> int:
        """Scalar parameters of the head factors (biases excluded)."""
        return sum(p.numel() for p in self._factors())

    def extra_repr(self) -> str:
        return (super().extra_repr() + f", hidden={self.hidden}, factorization={self.factorization!r}, "
                f"selected_ranks={self.selected_ranks}")
