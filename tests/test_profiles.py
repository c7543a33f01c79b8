"""One switch sizes everything: BMTL_PROFILE."""
import pytest

from bmtl_edu.balancers import BALANCERS
from bmtl_edu.models import PAPER_MODELS
from bmtl_edu.profiles import PROFILES, get_profile


def test_quick_is_the_default(monkeypatch):
    monkeypatch.delenv("BMTL_PROFILE", raising=False)
    assert get_profile().name == "quick"


def test_the_environment_variable_selects_the_profile(monkeypatch):
    monkeypatch.setenv("BMTL_PROFILE", "FULL")
    assert get_profile() is PROFILES["full"]


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("BMTL_PROFILE", "huge")
    with pytest.raises(ValueError, match="full, quick"):
        get_profile()


def test_full_is_the_papers_protocol():
    full = get_profile("full")
    assert full.proportions == (0.5, 0.6, 0.7)  # Sec. 4.1
    assert len(full.seeds) == 5 and full.hidden == 600 and full.max_train_per_task is None
    assert set(full.grid_models) == set(PAPER_MODELS)
    assert set(full.grid_balancers) == set(BALANCERS)


def test_quick_is_smaller_but_keeps_spread_and_a_proportion_axis():
    quick, full = get_profile("quick"), get_profile("full")
    assert quick.epochs < full.epochs and quick.toy_epochs <= full.toy_epochs
    assert len(quick.seeds) >= 2 and len(quick.proportions) >= 2
    assert set(quick.grid_balancers) == set(BALANCERS)
    assert set(quick.grid_models) <= set(PAPER_MODELS)


def test_replace_makes_a_modified_copy():
    quick = get_profile("quick")
    small = quick.replace(epochs=1)
    assert small.epochs == 1 and quick.epochs != 1 and small.to_dict()["name"] == "quick"
