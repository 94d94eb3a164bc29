"""``lint_policy``: the rule set it judges by, and what it refuses to lint."""

from __future__ import annotations

import pytest

from vmbackup.lint import lint_policy
from vmbackup.policy import Policy


def _enhanced_hourly(interval_hours: int, window_hours: int) -> Policy:
    return Policy(
        policy_type="enhanced",
        frequency="hourly",
        hourly_interval_hours=interval_hours,
        window_hours=window_hours,
        instant_restore_days=5,
    )


def test_g2_lint_judges_by_the_rule_set_it_is_given() -> None:
    """G2: a 24-hour interval is allowed today and refused by the seed's rules; lint says so
    under each."""
    daily_hourly = _enhanced_hourly(24, 24)
    today = [f for f in lint_policy(daily_hourly) if f.severity == "refused"]
    seed = [f for f in lint_policy(daily_hourly, rules="seed") if f.severity == "refused"]
    assert today == []
    assert seed != []


def test_lint_refuses_what_is_not_a_policy_saying_what_it_needs() -> None:
    """Clear errors: linting something that is not a policy names the argument and the type."""
    with pytest.raises(ValueError, match="^policy must be") as refused:
        lint_policy("DailyPolicy")  # type: ignore[arg-type]
    assert str(refused.value) == "policy must be a vmbackup.policy.Policy, found str 'DailyPolicy'"


def test_g4_p4_lint_names_the_rule_the_field_and_the_value_of_each_risk() -> None:
    """G4: a 10-hour window with a 4-hour interval is a Terraform risk; P4: Instant Restore above
    the default (2 days, Standard daily) is a cost risk. Each finding names its item, its field,
    the value and why."""
    hourly = _enhanced_hourly(4, 10)
    window = next(f for f in lint_policy(hourly) if f.rule == "terraform-window-multiple")
    assert (window.item, window.field, window.value, window.severity) == (
        "G4.1",
        "window_hours",
        10,
        "risk",
    )
    assert window.allowed == (
        "Azure accepts it, but Terraform's azurerm provider refuses a window that is not a "
        "multiple of the 4 h interval"
    )
    daily = Policy(instant_restore_days=4)
    above = next(f for f in lint_policy(daily) if f.rule == "instant-restore-above-default")
    assert (above.item, above.field, above.value, above.severity) == (
        "P4",
        "instant_restore_days",
        4,
        "risk",
    )
    assert above.allowed.startswith("the default is 2; each extra day keeps one more day")
    assert not [f for f in lint_policy(Policy(instant_restore_days=2)) if f.item == "P4"]
