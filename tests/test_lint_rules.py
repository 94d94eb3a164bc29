"""``lint_policy``: the rule set it judges by, and what it refuses to lint."""

from __future__ import annotations

import pytest

from vmbackup.lint import lint_policy
from vmbackup.policy import Policy


def test_g2_lint_judges_by_the_rule_set_it_is_given() -> None:
    """G2: a 24-hour interval is allowed today and refused by the seed's rules; lint says so
    under each."""
    daily_hourly = Policy(
        policy_type="enhanced",
        frequency="hourly",
        hourly_interval_hours=24,
        window_hours=24,
        instant_restore_days=5,
    )
    today = [f for f in lint_policy(daily_hourly) if f.severity == "refused"]
    seed = [f for f in lint_policy(daily_hourly, rules="seed") if f.severity == "refused"]
    assert today == []
    assert seed != []


def test_lint_refuses_what_is_not_a_policy_saying_what_it_needs() -> None:
    """Clear errors: linting something that is not a policy names the argument and the type."""
    with pytest.raises(ValueError, match="^policy must be") as refused:
        lint_policy("DailyPolicy")  # type: ignore[arg-type]
    assert str(refused.value) == "policy must be a vmbackup.policy.Policy, found str 'DailyPolicy'"
