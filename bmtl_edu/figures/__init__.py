"""Static figures of the BMTL book (fallbacks for the HTML build, small multiples).

One module per figure family. Imports are lazy, so a sibling module that is missing or
broken does not break the others.
"""
from __future__ import annotations

from ..lazy_exports import lazy_exports

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "jshtml": "animation",
    "plot_confidence_vs_n0": "bounds",
    "plot_confidence_small_multiples": "bounds",
    "plot_lemma1": "bounds",
    "plot_theorem4_vs_T": "bounds",
    "plot_gap_vs_n0": "bounds",
    "train_side_by_side": "side_by_side",
    "weight_shares": "side_by_side",
    "SideBySideFigure": "side_by_side",
    "plot_side_by_side": "side_by_side",
    "side_by_side_jshtml": "side_by_side",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
