"""bmtl_edu: balancing task difficulty in multi-task learning, the code of the BMTL book.

The public API, listed once::

    profiles     get_profile, Profile                      (sizes: BMTL_PROFILE=quick|full)
    transforms   Exp, Polynomial, Identity, check_theorem1  (the h of BMTL, Theorem 1)
    balancers    make_balancer, BALANCERS, DS, DWA, Max, SMax, CL, MGDA, BMTL
    models       make_model, MODELS, MultiTaskNet, DMTL, DMTRL, TNRMTL, MRN, MultiTaskLinear
    data         load_dataset, make_toy_problem, MultiTaskData, DATASETS, split_by_proportion
    train        fit, evaluate, History, seed_everything
    bounds       the calculators of Theorems 3-5 and Lemma 1 (``bmtl_edu.bounds``)

Figures, widgets and the experiment runner are imported from their modules
(``bmtl_edu.plots``, ``bmtl_edu.widgets``, ``bmtl_edu.experiments``) so that importing the
package stays light.
"""
from . import bounds
from .balancers import BALANCERS, BMTL, CL, DS, DWA, MGDA, Balancer, Max, SMax, make_balancer
from .data import DATASETS, MultiTaskData, load_dataset, make_toy_problem, split_by_proportion
from .models import (DMTL, DMTRL, MODELS, MRN, TNRMTL, MultiTaskLinear, MultiTaskNet,
                     make_model)
from .profiles import Profile, get_profile
from .train import History, evaluate, fit, seed_everything
from .transforms import Exp, Identity, Polynomial, Transform, check_theorem1

__version__ = "0.1.0"

__all__ = [
    "get_profile", "Profile",
    "Transform", "Exp", "Polynomial", "Identity", "check_theorem1",
    "Balancer", "make_balancer", "BALANCERS", "DS", "DWA", "Max", "SMax", "CL", "MGDA", "BMTL",
    "MultiTaskNet", "make_model", "MODELS", "DMTL", "DMTRL", "TNRMTL", "MRN", "MultiTaskLinear",
    "MultiTaskData", "load_dataset", "make_toy_problem", "DATASETS", "split_by_proportion",
    "fit", "evaluate", "History", "seed_everything",
    "bounds", "__version__",
]
