"""Interactive demos of the BMTL book: one module per demo family.

Each factory returns an ``ipywidgets`` object whose ``.demo`` attribute is the underlying
:class:`~bmtl_edu.widgets.base.FigureDemo` (controls, figure, last computed ``state``).
One slider change costs well under 0.1 s: closed forms or small precomputed tables only.

Imports are lazy: ``from bmtl_edu.widgets import dwa_widget`` loads only ``widgets.dwa``,
and a sibling module that is missing or broken does not break the others.
"""
from __future__ import annotations

from ..lazy_exports import lazy_exports

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "FigureDemo": "base",
    "factorisation_widget": "models",
    "FactorisationDemo": "models",
    "head_factorisation": "models",
    "related_heads": "models",
    "bound_explorer": "bounds",
    "TASK_COLOURS": "base",
    "difficulty_widget": "difficulty",
    "DifficultyDemo": "difficulty",
    "task_difficulty": "difficulty",
    "balancer_weights_widget": "weights",
    "BalancerWeightsDemo": "weights",
    "balancer_weights": "weights",
    "dwa_widget": "dwa",
    "DWADemo": "dwa",
    "dwa_weights": "dwa",
    "maximum_widget": "maximum",
    "MaximumDemo": "maximum",
    "descent_path": "maximum",
    "curriculum_widget": "curriculum",
    "CurriculumDemo": "curriculum",
    "curriculum_shares": "curriculum",
    "pace_schedule": "curriculum",
    "min_norm_widget": "geometry",
    "MinNormDemo": "geometry",
    "min_norm_geometry": "geometry",
    "gradients_from_polar": "geometry",
    "transform_widget": "transforms",
    "TransformDemo": "transforms",
    "make_transform": "transforms",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
