"""``MultiTaskData``: the one container every dataset of the book arrives in."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class MultiTaskData:
    """Per-task training and test sets of a multi-task problem.

    Attributes:
        name: dataset name (registry key, or ``"toy"``).
        task_names: one name per task.
        train: per-task ``(X, y)``: X float32 of shape (n_i, d); y int64 class ids in [0, C)
            of shape (n_i,) for classification, float32 targets of shape (n_i,) for regression.
        test: same layout as ``train``.
        n_classes: classes shared by all tasks, ``None`` for regression.
        is_synthetic: ``True`` for toy problems and synthetic stand-ins; every figure or table
            built from such data must say so.
        provenance: where the numbers come from (files and digests, or generator knobs, seeds,
            preprocessing statistics).
        shared_inputs: all tasks see the same X (SARCOS); then ``train[t][0]`` is the same tensor
            for every t.
    """

    name: str
    task_names: list[str]
    train: list[tuple[Tensor, Tensor]]
    test: list[tuple[Tensor, Tensor]]
    n_classes: int | None = None
    is_synthetic: bool = False
    provenance: dict = field(default_factory=dict)
    shared_inputs: bool = False

    def __post_init__(self) -> None:
        self.task_names = list(self.task_names)
        m = len(self.task_names)
        if m == 0:
            raise ValueError("MultiTaskData needs at least one task")
        for split_name in ("train", "test"):
            split = getattr(self, split_name)
            if len(split) != m:
                raise ValueError(f"{split_name} has {len(split)} tasks but task_names has {m}")
            for t, pair in enumerate(split):
                if len(pair) != 2:
                    raise ValueError(f"{split_name}[{t}] must be an (X, y) pair")
                X, y = pair
                if not (isinstance(X, Tensor) and isinstance(y, Tensor)):
                    raise ValueError(f"{split_name}[{t}] must hold torch tensors, got "
                                     f"{type(X).__name__}, {type(y).__name__}")
                if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
                    raise ValueError(f"{split_name}[{t}] ({self.task_names[t]}): expected X (n, d) and y (n,), "
                                     f"got X {tuple(X.shape)} and y {tuple(y.shape)}")
                if X.dtype != torch.float32:
                    raise ValueError(f"{split_name}[{t}]: X must be float32, got {X.dtype}")
                if self.n_classes is None:
                    if y.dtype != torch.float32:
                        raise ValueError(f"{split_name}[{t}]: regression targets must be float32, got {y.dtype}")
                else:
                    if y.dtype != torch.int64:
                        raise ValueError(f"{split_name}[{t}]: class labels must be int64, got {y.dtype}")
                    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
                        raise ValueError(f"{split_name}[{t}]: labels must lie in [0, {self.n_classes}), "
                                         f"got range [{int(y.min())}, {int(y.max())}]")
        dims = {X.shape[1] for X, _ in self.train + self.test}
        if len(dims) != 1:
            raise ValueError(f"all tasks must share one input dimension, got {sorted(dims)}")
        if self.shared_inputs:
            # the trainer feeds task 0's batch to every task: the inputs must really be one
            for split_name in ("train", "test"):
                split = getattr(self, split_name)
                X0 = split[0][0]
                for t, (X, _) in enumerate(split[1:], start=1):
                    if X is not X0 and (X.shape != X0.shape or not torch.equal(X, X0)):
                        raise ValueError(f"shared_inputs=True but {split_name}[{t}] "
                                         f"({self.task_names[t]}) has other inputs than task 0")

    @property
    def n_tasks(self) -> int:
        return len(self.task_names)

    @property
    def in_dim(self) -> int:
        return int(self.train[0][0].shape[1])

    @property
    def out_dim(self) -> int:
        """Width of each task head: ``n_classes`` (logits) or 1 (a regression output)."""
        return 1 if self.n_classes is None else int(self.n_classes)

    @property
    def task_type(self) -> str:
        return "regression" if self.n_classes is None else "classification"

    @property
    def train_sizes(self) -> list[int]:
        return [int(X.shape[0]) for X, _ in self.train]

    @property
    def test_sizes(self) -> list[int]:
        return [int(X.shape[0]) for X, _ in self.test]

    def to(self, device) -> "MultiTaskData":
        """A copy with every tensor on ``device`` (shared inputs stay shared)."""
        moved: dict[int, Tensor] = {}

        def mv(x: Tensor) -> Tensor:
            if id(x) not in moved:
                moved[id(x)] = x.to(device)
            return moved[id(x)]

        return MultiTaskData(self.name, self.task_names,
                             [(mv(X), mv(y)) for X, y in self.train], [(mv(X), mv(y)) for X, y in self.test],
                             self.n_classes, self.is_synthetic, dict(self.provenance), self.shared_inputs)

    def summary(self) -> str:
        """A short multi-line description: kind, sizes per task, provenance source."""
        kind = (f"{self.n_classes}-class classification" if self.n_classes is not None else "regression")
        head = (f"{self.name}: {self.n_tasks} tasks, {kind}, {self.in_dim}-d inputs"
                + (", shared inputs" if self.shared_inputs else "")
                + (" [synthetic]" if self.is_synthetic else ""))
        rows = [f"  {n:<12} train {a:>6}  test {b:>6}"
                for n, a, b in zip(self.task_names, self.train_sizes, self.test_sizes)]
        src = self.provenance.get("source")
        return "\n".join([head, *rows] + ([f"  source: {src}"] if src else []))

    def __repr__(self) -> str:
        return (f"MultiTaskData(name={self.name!r}, n_tasks={self.n_tasks}, task_type={self.task_type!r}, "
                f"in_dim={self.in_dim}, n_classes={self.n_classes}, train_sizes={self.train_sizes}, "
                f"test_sizes={self.test_sizes}, is_synthetic={self.is_synthetic})")
