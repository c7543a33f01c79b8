"""Loss balancers: every strategy answers "what weight does each task get now?".

``make_balancer(name, **kwargs)`` builds one by its registry name; ``BALANCERS`` maps the
names to the classes. See :class:`~bmtl_edu.balancers.base.Balancer` for the interface.
"""
from __future__ import annotations

import inspect

from .base import Balancer
from .bmtl import BMTL
from .cl import CL
from .ds import DS
from .dwa import DWA
from .max import Max
from .mgda import MGDA
from .smax import SMax

__all__ = ["Balancer", "DS", "DWA", "Max", "SMax", "CL", "MGDA", "BMTL", "BALANCERS", "make_balancer"]

BALANCERS: dict[str, type[Balancer]] = {
    "ds": DS, "dwa": DWA, "max": Max, "smax": SMax, "cl": CL, "mgda": MGDA, "bmtl": BMTL,
}


def make_balancer(name: str, **kwargs) -> Balancer:
    """The balancer registered as ``name`` (case-insensitive), built with ``kwargs``.

    Raises:
        KeyError: unknown name (the message lists the valid ones).
        TypeError: an argument the balancer does not take (the message lists those it takes).
        ValueError: an invalid argument value.
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in BALANCERS:
        raise KeyError(f"unknown balancer {name!r}; valid names: {', '.join(BALANCERS)}")
    cls = BALANCERS[key]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(f"balancer {key!r} got unknown argument(s) {', '.join(map(repr, unknown))}; "
                        f"it takes: {', '.join(accepted)}")
    return cls(**kwargs)
