"""Time one training step of every model on Office-31 shapes, relative to DMTL.

Shapes: in 4096, hidden 600, C = 31, m = 3, batch 32 per task (SPEC §1). A step is what the
trainer does: forward every task on its own batch, cross-entropy, sum + ``regularizer()``,
backward, Adam step, ``on_step_end``. The budget (assignment): every tensor model <= 2x DMTL.
``--option-b`` adds DMTRL with ``layers="both"`` (SPEC §2.2 application B: the 4096 x 600 x 3
first-layer tensor is factorised and rebuilt every step); those rows are reported but have no
budget. ``--layer1-rank R`` gives them explicit first-layer ranks instead of the eps rule
(Tucker ``(R, R, None)``, TT ``(R, None)``, LAF keeps the eps rule).

Usage (from the repository root, package installed or ``PYTHONPATH=.``):
``python benchmarks/models_step.py [--steps 30] [--threads N] [--device cpu|cuda] [--option-b]
[--layer1-rank R]``
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from bmtl_edu.models import PAPER_MODELS, make_model


class _Run:
    """One model, its optimiser and fixed per-task batches; ``step()`` times one training step."""

    def __init__(self, name: str, device: str, in_dim: int = 4096, hidden: int = 600,
                 n_classes: int = 31, n_tasks: int = 3, batch: int = 32, **options) -> None:
        torch.manual_seed(0)
        self.model = make_model(name, in_dim, n_tasks, n_classes, hidden=hidden, **options).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.xs = [torch.rand(batch, in_dim, device=device) for _ in range(n_tasks)]
        self.ys = [torch.randint(0, n_classes, (batch,), device=device) for _ in range(n_tasks)]
        self.device, self.i, self.times = device, 0, []

    def step(self, record: bool = True) -> None:
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)
        sync()
        t0 = time.perf_counter()
        m = self.model
        losses = torch.stack([F.cross_entropy(m(x, t), y) for t, (x, y) in enumerate(zip(self.xs, self.ys))])
        self.opt.zero_grad(set_to_none=True)
        (losses.sum() + m.regularizer()).backward()
        self.opt.step()
        m.on_step_end(self.i)
        sync()
        self.i += 1
        if record:
            self.times.append(time.perf_counter() - t0)

    def median(self) -> float:
        return sorted(self.times)[len(self.times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--option-b", action="store_true",
                        help="also time DMTRL with layers='both' (no budget)")
    parser.add_argument("--layer1-rank", type=int, default=None,
                        help="explicit first-layer rank for the option-B rows (default: eps rule)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = {name: _Run(name, args.device) for name in PAPER_MODELS}
    if args.option_b:
        R = args.layer1_rank
        l1 = {"tucker": None if R is None else (R, R, None), "tt": None if R is None else (R, None),
              "laf": None}
        for fac in ("tucker", "tt", "laf"):
            runs[f"dmtrl_{fac}+B"] = _Run(f"dmtrl_{fac}", args.device, layers="both",
                                          layer1_ranks=l1[fac])
            print(f"dmtrl_{fac}+B layer-1 ranks {runs[f'dmtrl_{fac}+B'].model.selected_layer1_ranks}")
    for run in runs.values():
        for _ in range(3):
            run.step(record=False)  # warm-up
    # Round-robin, so that load changes on a shared machine hit every model alike.
    for _ in range(args.steps):
        for run in runs.values():
            run.step()
    base = runs["dmtl"].median()
    print(f"device={args.device} threads={torch.get_num_threads()} steps={args.steps} (median)")
    print(f"{'model':16s} {'ms/step':>9s} {'ratio':>6s}")
    worst = 0.0
    for name, run in runs.items():
        ratio = run.median() / base
        if name != "dmtl" and not name.endswith("+B"):
            worst = max(worst, ratio)
        print(f"{name:16s} {1e3 * run.median():9.2f} {ratio:6.2f}")
    print(f"worst ratio {worst:.2f} ({'within' if worst <= 2.0 else 'OVER'} the 2x budget)")


if __name__ == "__main__":
    main()
