"""Lazy public names for sub-packages whose modules import matplotlib or ipywidgets.

``bmtl_edu.widgets`` and ``bmtl_edu.figures`` list their public names once, in a table
name -> module; a name's module is imported on first use, so importing the package stays
light and one broken demo module cannot break the others.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any],
                                                                  Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` resolving ``exports[name]`` on demand.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module (relative to ``package``) that defines it.
    """
    namespace = importlib.import_module(package).__dict__
    public = sorted(exports)

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}; "
                                 f"available: {', '.join(public)}")
        value = getattr(importlib.import_module(f".{exports[name]}", package), name)
        namespace[name] = value  # cache: later look-ups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
