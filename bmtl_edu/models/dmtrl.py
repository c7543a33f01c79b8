"""DMTRL: deep multi-task representation learning by tensor factorisation (Yang & Hospedales 2017).

SPEC §2.2. A stacked per-task layer ``W in R^{D1 x D2 x m}`` (task axis last, ``W[:, :, t]`` =
task t's weight as in x out) is parameterised by a Tucker, tensor-train (TT) or
last-axis-flattening (LAF) factorisation whose task-mode factor is task-specific and whose other
factors are shared:

* Tucker: ``W = G x_1 U_in x_2 U_out x_3 U_task``; shared G, U_in, U_out; task t owns ``U_task[t]``.
* TT: ``W[a, b, t] = sum_pq G_in[a, p] G_out[p, b, q] U_task[t, q]``; task t owns ``U_task[t]``.
* LAF: ``W[:, :, t] = reshape(L @ U_task[t])``; shared L; task t owns ``U_task[t]``.

The task factor is stored task-first, ``(m, K)``, so task t's factor is row t. Biases stay per
task and unfactorised.

Which layers are factorised (OPEN which one the paper used, SPEC §7 item 1):

* ``layers="head"`` (application A, the default): the first layer ``d -> hidden`` is hard-shared
  as in DMTL; only the head tensor ``(hidden, C, m)`` is factorised.
* ``layers="both"`` (application B, faithful to DMTRL): the first layer is per task too; its
  stacked weights ``(d, hidden, m)`` are factorised with the same family (factors prefixed
  ``w1_``) and its biases ``layer1_bias`` are per task. The representation then depends on the
  task: ``features(x, task)`` needs ``task`` and ``task_specific_features`` is True.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import partial

import torch
from torch import Tensor, nn

from .base import DEFAULT_REG, MultiTaskNet, check_sizes, frobenius_sq, init_stacked_
from .tensor import EpsOrK, hosvd, laf_svd, tt_svd

__all__ = ["DMTRL", "FACTORIZATIONS", "LAYERS", "n_factor_parameters"]

log = logging.getLogger(__name__)

FACTORIZATIONS = ("tucker", "tt", "laf")
#: ``"head"``: application A (shared first layer); ``"both"``: application B (SPEC §2.2).
LAYERS = ("head", "both")
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


#: names of the shared factors of each family (the task factor is ``task_factor``).
_SHARED_NAMES = {"tucker": ("core", "U_in", "U_out"), "tt": ("G_in", "G_out"), "laf": ("L",)}
#: factor-name prefix of each factorised layer.
_PREFIX = {"head": "", "w1": "w1_"}


def _decompose(W0: Tensor, factorization: str, vals: list[EpsOrK],
               task_cap: int | None) -> tuple[list[Tensor], Tensor, tuple[int, ...]]:
    """Truncated decomposition of ``W0`` (D1, D2, m) (SPEC §2.2).

    Tucker: truncated HOSVD; TT: TT-SVD; LAF: truncated SVD of the task-mode unfolding. The
    task-mode rank is capped by ``task_cap`` (None: no cap).

    Returns:
        the shared factors (in ``_SHARED_NAMES`` order), the task factor ``(m, K)`` and the ranks.
    """
    if factorization == "tucker":
        core, (U_in, U_out, U_task) = hosvd(W0, vals, max_ranks=[None, None, task_cap])
        return [core, U_in, U_out], U_task, tuple(core.shape)
    if factorization == "tt":
        G1, G2, G3 = tt_svd(W0, vals, max_ranks=[None, task_cap])
        # G_in (D1, r1), G_out (r1, D2, r2), task factor (m, r2)
        return [G1[0], G2], G3[:, :, 0].T, (G1.shape[2], G2.shape[2])
    L, S = laf_svd(W0, vals[0], max_rank=task_cap)
    return [L], S.T, (L.shape[1],)                              # L (D1*D2, K), task (m, K)


def _reconstruct(factorization: str, shared: Sequence[Tensor], task: Tensor,
                 shape: tuple[int, int]) -> Tensor:
    """The stacked layer ``(m, D1, D2)`` (task axis FIRST: ``x @ W[t]`` is one matmul).

    Same tensor as ``tucker_to_tensor`` / ``tt_to_tensor`` / ``laf_to_tensor`` with the task
    axis moved to the front, contracted in an order that never forms a tensor larger than the
    result (the task factor is applied first, to the small core).
    """
    D1, D2 = shape
    m = task.shape[0]
    if factorization == "tucker":
        core, U_in, U_out = shared
        G = torch.tensordot(task, core, dims=([1], [2]))        # (m, K1, K2)
        K1, K2 = G.shape[1], G.shape[2]
        if D1 * K1 * K2 + D1 * K2 * D2 <= K1 * K2 * D2 + D1 * K1 * D2:
            return (U_in @ G) @ U_out.T                          # (m, D1, K2) @ (K2, D2)
        return U_in @ (G @ U_out.T)                              # (D1, K1) @ (m, K1, D2)
    if factorization == "tt":
        G_in, G_out = shared
        G = torch.tensordot(task, G_out, dims=([1], [2]))       # (m, r1, D2)
        return G_in @ G
    (L,) = shared
    return (task @ L.T).reshape(m, D1, D2)


class DMTRL(MultiTaskNet):
    """DMTL whose head tensor (and optionally first layer) is factorised (SPEC §2.2).

    Args:
        in_dim, n_tasks, out_dim: d, m and C.
        hidden: width of the first layer (paper: 600).
        factorization: ``"tucker"``, ``"tt"`` or ``"laf"`` (used for every factorised layer).
        eps: relative-error rank rule ``rank = #{sigma_k > eps sigma_1}`` used for every mode whose
            rank is not given (default 0.1, the authors' demo; SPEC §2.2).
        ranks: explicit head ranks, overriding ``eps``: Tucker ``(K1, K2, K3)``, TT ``(r1, r2)``,
            LAF ``K`` (an int or a 1-sequence). Entries may be ``None`` (use ``eps``) or a float
            eps. An explicit rank above a mode's maximum raises ``ValueError``.
        max_task_rank: cap on an eps-selected task-mode rank (K3, r2, K) of every factorised
            layer. ``None`` means ``max(1, m - 1)``: with m = 3-4 tasks the eps rule keeps all m
            singular values and a full task rank imposes no sharing at all (SPEC §2.2 warning).
            Pass ``m`` to disable.
        init_heads: stacked heads (m, C, hidden), e.g. from a trained DMTL, decomposed to
            initialise the factors; default a random tensor with PyTorch's default Linear scale.
        layers: ``"head"`` (application A: hard-shared first layer) or ``"both"`` (application
            B: the first layer is per task and factorised too).
        layer1_ranks: ``layers="both"`` only: explicit first-layer ranks, same format as
            ``ranks`` (default: the ``eps`` rule). With a random init the eps rule keeps nearly
            full ranks (e.g. TT r1 = 1800 for 4096 x 600 x 3); small ranks make the per-step
            rebuild much cheaper.
        init_layer1: ``layers="both"`` only: stacked first-layer weights (m, hidden, d) in
            ``nn.Linear`` layout, decomposed to initialise the layer-1 factors; default random.
        reg: lambda of lambda * r(Theta). ``"head"``: r = ||W1||^2 + sum_t ||W2_t||^2;
            ``"both"``: r = sum_t ||W1_t||^2 + sum_t ||W2_t||^2. Both use the *reconstructed*
            layers (not the factors), so r is the same weight decay as DMTL's, whatever the ranks.

    Attributes:
        selected_ranks: the head ranks the decomposition kept (also logged at INFO level).
        selected_layer1_ranks: the first-layer ranks (``()`` for ``layers="head"``).
        task_specific_features: True for ``layers="both"``.

    Each factorised tensor is rebuilt at most once per training step: it is cached and reused
    while its factors are unchanged (their ``_version`` counters) and no backward pass has gone
    through it yet; ``begin_step()`` drops the caches explicitly.
    """

    def __init__(self, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
                 factorization: str = "tucker", eps: float = 0.1,
                 ranks: int | Sequence[EpsOrK | None] | None = None,
                 max_task_rank: int | None = None, init_heads: Tensor | None = None,
                 reg: float = DEFAULT_REG, layers: str = "head",
                 layer1_ranks: int | Sequence[EpsOrK | None] | None = None,
                 init_layer1: Tensor | None = None) -> None:
        super().__init__(in_dim, n_tasks, out_dim, reg)
        check_sizes(hidden=hidden)
        self.hidden = int(hidden)
        self.factorization = _check_factorization(factorization)
        if layers not in LAYERS:
            raise ValueError(f"layers must be one of {', '.join(map(repr, LAYERS))}, got {layers!r}")
        if layers == "head" and (layer1_ranks is not None or init_layer1 is not None):
            raise ValueError("layer1_ranks and init_layer1 need layers='both' (layers='head' "
                             "keeps a hard-shared first layer)")
        self.layers = layers
        self.task_specific_features = layers == "both"
        if isinstance(eps, bool) or not isinstance(eps, (float, int)) or not 0.0 < float(eps) < 1.0:
            raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
        self.eps = float(eps)
        if max_task_rank is None:
            max_task_rank = max(1, n_tasks - 1)
        check_sizes(max_task_rank=max_task_rank)
        self.max_task_rank = max_task_rank
        if layers == "head":
            self.shared = nn.Linear(in_dim, hidden)
        else:
            self.layer1_bias = nn.Parameter(torch.empty(n_tasks, hidden))
            init_stacked_(self.layer1_bias, None, in_dim)
        self.head_bias = nn.Parameter(torch.empty(n_tasks, out_dim))
        init_stacked_(self.head_bias, None, hidden)
        self._caches: dict[str, tuple[tuple, Tensor]] = {}
        self._names: dict[str, tuple[str, ...]] = {}
        self.selected_ranks: tuple[int, ...] = ()
        self.selected_layer1_ranks: tuple[int, ...] = ()
        self.decompose_(self._initial(init_heads, "init_heads", (n_tasks, out_dim, hidden),
                                      "(m, C, hidden)"), ranks)
        if layers == "both":
            self.decompose_layer1_(self._initial(init_layer1, "init_layer1",
                                                 (n_tasks, hidden, in_dim), "(m, hidden, in_dim)"),
                                   layer1_ranks)

    # -- (re)initialisation ---------------------------------------------------------------------
    @classmethod
    def _initial(cls, given: Tensor | None, name: str, shape: tuple[int, int, int],
                 layout: str) -> Tensor:
        """The stacked layer to decompose, task axis last: ``given`` (``nn.Linear`` layout,
        ``shape`` = (m, out, in)) or a PyTorch-default random init of that shape."""
        m, fan_out, fan_in = shape
        if given is None:
            W = torch.empty(fan_in, fan_out, m)
            init_stacked_(W, None, fan_in)
            return W
        return cls._check_stacked(given, name, shape, layout).detach().permute(2, 1, 0)

    @staticmethod
    def _check_stacked(W: Tensor, name: str, shape: tuple[int, ...], layout: str) -> Tensor:
        if not isinstance(W, Tensor) or tuple(W.shape) != shape:
            got = tuple(W.shape) if isinstance(W, Tensor) else type(W).__name__
            raise ValueError(f"{name} must have shape {layout} = {shape}, got {got}")
        if not torch.isfinite(W).all():
            raise ValueError(f"{name} contains NaN or inf")
        return W

    def _mode_values(self, ranks, what: str = "ranks") -> list[EpsOrK]:
        n = _N_RANKS[self.factorization]
        if ranks is None:
            given = [None] * n
        elif isinstance(ranks, (int, float)) and not isinstance(ranks, bool):
            given = [ranks] if n == 1 else None
            if given is None:
                raise ValueError(f"{self.factorization} needs {n} {what}, got the single value {ranks!r}")
        else:
            given = list(ranks)
            if len(given) != n:
                raise ValueError(f"{self.factorization} needs {n} {what}, got {len(given)}: {given}")
        return [self.eps if r is None else r for r in given]

    def _decompose_layer_(self, layer: str, W0: Tensor, ranks, expected: tuple[int, int, int],
                          layout: str, like: Tensor, what: str) -> tuple[int, ...]:
        if tuple(W0.shape) != expected:
            raise ValueError(f"W0 must have shape {layout} = {expected}, got {tuple(W0.shape)}")
        W0 = W0.to(device=like.device, dtype=like.dtype)
        vals = self._mode_values(ranks, what)
        task_cap = None if isinstance(vals[-1], int) else self.max_task_rank
        for name in self._names.get(layer, ()):
            if hasattr(self, name):
                delattr(self, name)
        shared, task, kept = _decompose(W0, self.factorization, vals, task_cap)
        prefix = _PREFIX[layer]
        names = tuple(prefix + n for n in _SHARED_NAMES[self.factorization]) + (prefix + "task_factor",)
        for name, value in zip(names, shared + [task]):
            setattr(self, name, nn.Parameter(value.contiguous()))
        self._names[layer] = names
        self._caches.pop(layer, None)
        kept = tuple(int(r) for r in kept)
        log.info("DMTRL-%s %s %s: selected ranks %s", self.factorization,
                 "head" if layer == "head" else "layer 1", expected, kept)
        return kept

    @torch.no_grad()
    def decompose_(self, W0: Tensor, ranks: int | Sequence[EpsOrK | None] | None = None) -> tuple[int, ...]:
        """Set the head factors to a truncated decomposition of ``W0`` (hidden, C, m); returns the ranks.

        Tucker: truncated HOSVD; TT: TT-SVD; LAF: truncated SVD of the task-mode unfolding
        (SPEC §2.2). The task-mode rank, when chosen by eps, is capped by ``max_task_rank``.
        The factor Parameters are replaced: call this before creating the optimiser.
        """
        self.selected_ranks = self._decompose_layer_(
            "head", W0, ranks, (self.hidden, self.out_dim, self.n_tasks), "(hidden, C, m)",
            self.head_bias, "ranks")
        return self.selected_ranks

    @torch.no_grad()
    def decompose_layer1_(self, W0: Tensor,
                          ranks: int | Sequence[EpsOrK | None] | None = None) -> tuple[int, ...]:
        """``layers="both"``: set the first-layer factors from ``W0`` (in_dim, hidden, m), as
        :meth:`decompose_` does for the head; returns the ranks."""
        if self.layers != "both":
            raise ValueError("decompose_layer1_ needs layers='both' (the first layer is hard-shared)")
        self.selected_layer1_ranks = self._decompose_layer_(
            "w1", W0, ranks, (self.in_dim, self.hidden, self.n_tasks), "(in_dim, hidden, m)",
            self.layer1_bias, "layer1_ranks")
        return self.selected_layer1_ranks

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

    # -- the factorised tensors, rebuilt once per step ------------------------------------------
    @property
    def _shared_factor_names(self) -> tuple[str, ...]:
        return self._names["head"][:-1]

    def _factors(self, layer: str = "head") -> list[nn.Parameter]:
        return [getattr(self, n) for n in self._names[layer]]

    def _rebuild(self, layer: str) -> Tensor:
        *shared, task = self._factors(layer)
        shape = (self.hidden, self.out_dim) if layer == "head" else (self.in_dim, self.hidden)
        return _reconstruct(self.factorization, shared, task, shape)

    def _build(self) -> Tensor:
        """The head tensor (m, hidden, C), rebuilt from the factors (uncached)."""
        return self._rebuild("head")

    def _build_layer1(self) -> Tensor:
        """The first-layer tensor (m, in_dim, hidden), rebuilt from the factors (uncached)."""
        return self._rebuild("w1")

    def _invalidate(self, layer: str, grad: Tensor) -> None:
        # A backward pass went through the cached tensor: its graph may now be freed.
        self._caches.pop(layer, None)

    def begin_step(self) -> None:
        """Forget the cached tensors (the next forward rebuilds them)."""
        self._caches = {}

    def _cached(self, layer: str, build) -> Tensor:
        key = (torch.is_grad_enabled(),) + tuple((p.data_ptr(), p._version, p.device, p.dtype)
                                                   for p in self._factors(layer))
        hit = self._caches.get(layer)
        if hit is not None and hit[0] == key:
            return hit[1]
        W = build()
        if W.requires_grad:
            W.register_hook(partial(self._invalidate, layer))
        self._caches[layer] = (key, W)
        return W

    def stacked_heads(self) -> Tensor:
        """The reconstructed heads, (m, hidden, C), from the per-step cache."""
        return self._cached("head", self._build)

    def stacked_layer1(self) -> Tensor:
        """``layers="both"``: the reconstructed first layers, (m, in_dim, hidden), cached per step."""
        if self.layers != "both":
            raise ValueError("stacked_layer1 needs layers='both' (the first layer is hard-shared)")
        return self._cached("w1", self._build_layer1)

    def head_weights(self) -> Tensor:
        """The reconstructed heads in DMTL layout (m, C, hidden)."""
        return self.stacked_heads().transpose(1, 2)

    def layer1_weights(self) -> Tensor:
        """``layers="both"``: the reconstructed first layers in ``nn.Linear`` layout (m, hidden, in_dim)."""
        return self.stacked_layer1().transpose(1, 2)

    def __getstate__(self) -> dict:
        # The caches hold non-leaf tensors (deepcopy/pickle refuse those) and are cheap to rebuild.
        state = self.__dict__.copy()
        state["_caches"] = {}
        return state

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # Ranks chosen by eps depend on the initial tensor, so a saved model may have other factor
        # shapes than a fresh one: adopt the saved shapes (same Parameter objects) before loading.
        for names in self._names.values():
            for name in names:
                saved = state_dict.get(prefix + name)
                p = getattr(self, name)
                if isinstance(saved, Tensor) and saved.shape != p.shape and saved.dim() == p.dim():
                    p.data = p.data.new_empty(saved.shape)
        self.begin_step()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.selected_ranks = self._ranks_of("head")
        if self.layers == "both":
            self.selected_layer1_ranks = self._ranks_of("w1")

    def _ranks_of(self, layer: str) -> tuple[int, ...]:
        *shared, task = self._factors(layer)
        if self.factorization == "tucker":
            return tuple(int(r) for r in shared[0].shape)
        if self.factorization == "tt":
            return (int(shared[0].shape[1]), int(task.shape[1]))
        return (int(task.shape[1]),)

    # -- the MultiTaskNet contract ----------------------------------------------------------------
    def features(self, x: Tensor, task: int | None = None) -> Tensor:
        if self.layers == "head":
            return self.shared(x).relu()
        if task is None:
            raise ValueError("DMTRL(layers='both') has a per-task first layer: features(x, task) "
                             "needs the task index")
        t = self.check_task(task)
        return (x @ self.stacked_layer1()[t] + self.layer1_bias[t]).relu()

    def head(self, z: Tensor, task: int) -> Tensor:
        return z @ self.stacked_heads()[task] + self.head_bias[task]

    def shared_parameters(self) -> list[nn.Parameter]:
        head = [getattr(self, n) for n in self._shared_factor_names]
        if self.layers == "head":
            return [self.shared.weight, self.shared.bias] + head
        return self._factors("w1")[:-1] + head

    def task_parameters(self, t: int) -> list[nn.Parameter]:
        self.check_task(t)
        if self.layers == "head":
            return [self.task_factor, self.head_bias]
        return [self.w1_task_factor, self.layer1_bias, self.task_factor, self.head_bias]

    def penalty(self) -> Tensor:
        first = self.shared.weight if self.layers == "head" else self.stacked_layer1()
        return frobenius_sq(first, self.stacked_heads())

    def n_factor_parameters(self) -> int:
        """Scalar parameters of the head factors (biases excluded)."""
        return sum(p.numel() for p in self._factors("head"))

    def extra_repr(self) -> str:
        extra = (f", layers={self.layers!r}, selected_layer1_ranks={self.selected_layer1_ranks}"
                 if self.layers == "both" else "")
        return (super().extra_repr() + f", hidden={self.hidden}, factorization={self.factorization!r}, "
                f"selected_ranks={self.selected_ranks}" + extra)
