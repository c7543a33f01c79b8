"""Throughput of `bmtl_edu.fit` against a plain hand-written PyTorch loop, in one process.

Office-31-shaped synthetic data (3 tasks of 2817/795/498 samples, 4096-d, 31 classes),
batch 32 per task, one epoch of ceil(2817/32) = 89 iterations, torch threads = 2. Both
sides train the same DMTL network (4096 -> hidden -> 31 per task) on the same data with
the same Adam and regulariser; the plain loop is the direct sum written by hand.

Targets (foundation issue): DS, BMTL and DWA >= 0.95x the plain loop, BMTL within 5 % of
DS, MGDA (parameter space) >= 0.7x. Run:

    python benchmarks/throughput.py [--epochs 1] [--repeats 3] [--hidden 600]

It prints samples/s and the ratio to the plain loop; each figure is the best of
``--repeats`` runs so that a background hiccup does not decide the ratio.
"""
from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

from bmtl_edu.balancers import make_balancer
from bmtl_edu.data import MultiTaskData
from bmtl_edu.models import make_model
from bmtl_edu.train import fit

SIZES = (2817, 795, 498)
DIM, CLASSES, BATCH = 4096, 31, 32


def office31_like(seed: int = 0) -> MultiTaskData:
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for n in SIZES:
        X = torch.rand(n, DIM, generator=g)
        y = torch.randint(0, CLASSES, (n,), generator=g)
        train.append((X, y))
        test.append((X[:64], y[:64]))
    return MultiTaskData(name="office31-shaped", task_names=["amazon", "webcam", "dslr"],
                         train=train, test=test, n_classes=CLASSES, is_synthetic=True,
                         provenance={"source": "benchmarks/throughput.py"})


def plain_loop(data: MultiTaskData, hidden: int, epochs: int, reg: float, seed: int = 0) -> float:
    """The reference: tensors, autograd and Adam, nothing else. Returns seconds."""
    torch.manual_seed(seed)
    m = len(SIZES)
    lin = torch.nn.Linear(DIM, hidden)
    W1, b1 = lin.weight.detach().clone().requires_grad_(), lin.bias.detach().clone().requires_grad_()
    W2 = (torch.randn(m, CLASSES, hidden) * hidden ** -0.5).requires_grad_()
    b2 = torch.zeros(m, CLASSES, requires_grad=True)
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=0.02)
    gen = torch.Generator().manual_seed(seed)
    perms = [torch.randperm(n, generator=gen) for n in SIZES]
    pos = [0] * m
    iters = math.ceil(max(SIZES) / BATCH)
    start = time.perf_counter()
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = 0.02 / (1 + epoch)
        for _ in range(iters):
            total = 0.0
            for t, (X, y) in enumerate(data.train):
                if pos[t] + BATCH > SIZES[t]:
                    perms[t], pos[t] = torch.randperm(SIZES[t], generator=gen), 0
                idx = perms[t][pos[t]:pos[t] + BATCH]
                pos[t] += BATCH
                z = torch.relu(X[idx] @ W1.T + b1)
                total = total + F.cross_entropy(z @ W2[t].T + b2[t], y[idx])
            total = total + reg * (W1.square().sum() + W2.square().sum())
            total.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def ours(data: MultiTaskData, balancer: str, hidden: int, epochs: int, reg: float) -> float:
    torch.manual_seed(0)
    model = make_model("dmtl", DIM, len(SIZES), CLASSES, hidden=hidden, reg=reg)
    # Evaluation is not part of the plain loop, so keep it out of the timing as well.
    start = time.perf_counter()
    fit(model, make_balancer(balancer), data, epochs=epochs, progress=False,
        eval_every=10**9)
    return time.perf_counter() - start - _eval_seconds(model, data)


def _eval_seconds(model, data) -> float:
    from bmtl_edu.train import evaluate
    start = time.perf_counter()
    evaluate(model, data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=600)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reg", type=float, default=1e-4)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = office31_like()
    samples = args.epochs * math.ceil(max(SIZES) / BATCH) * BATCH * len(SIZES)

    runs = {"plain loop (DS)": lambda: plain_loop(data, args.hidden, args.epochs, args.reg)}
    for name in ("ds", "bmtl", "dwa", "mgda"):
        runs[f"fit + {name}"] = (lambda n=name: ours(data, n, args.hidden, args.epochs, args.reg))
    best = {}
    for _ in range(args.repeats):  # interleaved, so drift hits every contender alike
        for label, run in runs.items():
            best[label] = min(best.get(label, float("inf")), run())
    base = best["plain loop (DS)"]
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, hidden {args.hidden}, "
          f"{args.epochs} epoch(s), best of {args.repeats}")
    print(f"{'contender':<18}{'seconds':>9}{'samples/s':>12}{'vs plain':>10}")
    for label, sec in best.items():
        print(f"{label:<18}{sec:>9.3f}{samples / sec:>12.0f}{base / sec:>10.2f}")
    print(f"BMTL vs DS: {best['fit + ds'] / best['fit + bmtl']:.3f}")


if __name__ == "__main__":
    main()
