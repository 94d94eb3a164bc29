"""The inputs of the plan report for the sample estate, computed with the models' public APIs
the way the ``plan`` command does (shared by the report's unit and browser tests)."""

from __future__ import annotations

import functools
import math
from typing import Any

import polars as pl

from vmbackup.capacity import premium_space_check
from vmbackup.data import read_fleet, read_lag_profile, read_policies, read_prices
from vmbackup.eligibility import scan_assumptions, scan_estate
from vmbackup.fleet import BIN_HOURS, fleet_plan, propose_stagger, simulate_fleet
from vmbackup.onboarding import plan_onboarding
from vmbackup.restore_options import estate_rto


@functools.cache
def sample_inputs(days: int = 7) -> dict[str, Any]:
    """Keyword arguments of :func:`vmbackup.report.plan_report` for the 200-VM sample."""
    fleet = read_fleet()
    policies = read_policies()
    lag = read_lag_profile()
    prices = read_prices(region="westeurope")
    plan = fleet_plan(fleet, policies)
    result = simulate_fleet(plan, lag_profile_hours=lag, days=days, prices=prices)
    _offsets, stagger = propose_stagger(plan, lag_profile_hours=lag, days=min(days, 7))
    accounts = max(1, math.ceil(plan.vms / 10))
    restore = {
        "one account per VM (S20)": estate_rto(
            fleet, policies, placement="per-vm", recovery_point_age_days=30
        ),
        f"{accounts} balanced accounts": estate_rto(
            fleet, policies, placement="balanced", accounts=accounts, recovery_point_age_days=30
        ),
    }
    return {
        "fleet": fleet,
        "daily": result.daily,
        "job_hours": result.jobs["duration_hours"].to_numpy(),
        "concurrency": result.concurrency,
        "bin_hours": BIN_HOURS,
        "stagger": stagger,
        "space": premium_space_check(fleet),
        "restore": restore,
        "monthly": result.monthly,
        "meters": result.meters,
        "currency": prices.currency,
        "eligibility": scan_estate(fleet, policies=policies),
        "onboarding": plan_onboarding(plan, lag_profile_hours=lag),
        "onboarding_on_demand": plan_onboarding(plan, lag_profile_hours=lag, trigger="on-demand"),
        "assumptions": (
            "churn per VM from its class: low 2%, moderate 4%, high 7% of used data a day (P6)",
            *scan_assumptions(fleet),
        ),
        "subtitle": f"The 200-VM sample estate, {days} simulated days, prices "
        f"{prices.region} ({prices.currency})",
    }


def fleet_with_names(names: dict[str, str]) -> pl.DataFrame:
    """The sample fleet with some VMs renamed (old -> new), for escaping tests."""
    return read_fleet().with_columns(pl.col("vm_name").replace(names))
