"""A policy reviewer's checks: what Azure would refuse, what it risks, and for which VMs.

:func:`lint_policy` lists, for one policy, each rule it breaks and each risk a reviewer would
flag. A finding says Azure refuses (``severity="refused"``) only where the rule catalogue
(:mod:`vmbackup.catalogue`, ``RULES.md``) documents the rule; an unverified figure (G2.3's
Instant Restore caps by interval) or a recommendation (G2.4: Instant Restore longer than the vault
retention) is a ``risk`` whose message names the item and its status. Other risks: a schedule in
the hours of peak snapshot-to-vault lag (S11, S13), an hourly window or a weekly Instant Restore
Terraform's provider refuses (G4.1, G2.5), Instant Restore above the default (P4: each extra day
keeps another day of snapshots). :func:`lint_estate` adds, with an estate,
the VMs the policy cannot protect, or protects at a different price (G1, G8, G11, X1).
:func:`enhanced_whatif` puts a policy and its Enhanced twin side by side (moving a Standard
policy's VMs to Enhanced is generally available since June 2025 and one-way, G19).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy.typing as npt
import polars as pl

from vmbackup._checks import choice, instance, non_negative, non_negative_array
from vmbackup.billing import REDUNDANCIES, Prices, snapshot_meter
from vmbackup.eligibility import vm_eligibility
from vmbackup.policy import POLICY_RULES, Finding, Policy, service_findings
from vmbackup.retention import recovery_points, snapshot_storage_gb, vault_storage_gb

__all__ = ["PEAK_LAG_HOURS", "enhanced_whatif", "lint_estate", "lint_policy"]

#: G2.5: the only Instant Restore retention Terraform's azurerm provider accepts for a weekly
#: policy of either type (PR 24539) [days].
TERRAFORM_WEEKLY_IR_DAYS = 5
#: A backup hour whose snapshot-to-vault lag is at least this is a peak-lag hour [h]
#: (assumption: three quarters of S11's 8 h peak).
PEAK_LAG_HOURS = 6.0


def lint_policy(
    policy: Policy, *, lag_profile_hours: npt.ArrayLike | None = None, rules: str = "today"
) -> list[Finding]:
    """Every rule ``policy`` breaks and every risk it runs, refusals first.

    Parameters
    ----------
    policy
        The policy (read with ``enforce=False`` so that a refused one can be linted).
    lag_profile_hours
        Snapshot-to-vault lag by hour of day (24 values) [h]; None skips the peak-lag check.
    rules
        The rule set refusals are judged by (default today's).

    Examples
    --------
    >>> p = Policy(policy_type="enhanced", frequency="hourly", hourly_interval_hours=4,
    ...            window_hours=23, instant_restore_days=20, enforce=False)
    >>> [(f.severity, f.rule) for f in lint_policy(p)]
    [('risk', 'instant-restore-hourly-max'), ('risk', 'terraform-window-multiple'), \
('risk', 'instant-restore-above-default')]
    """
    instance("policy", policy, Policy, "a vmbackup.policy.Policy")
    found = service_findings(policy, rules)
    if policy.frequency == "hourly":
        interval, window = policy.hourly_interval_hours, policy.window_hours
        assert interval is not None
        assert window is not None
        if window % interval:
            found.append(
                Finding(
                    "terraform-window-multiple",
                    "G4.1",
                    "window_hours",
                    window,
                    f"Azure accepts it, but Terraform's azurerm provider refuses a window that is "
                    f"not a multiple of the {interval} h interval",
                    "risk",
                )
            )
    ir = policy.instant_restore_days
    if policy.frequency == "weekly" and ir is not None and ir != TERRAFORM_WEEKLY_IR_DAYS:
        found.append(
            Finding(
                "terraform-weekly-instant-restore",
                "G2.5",
                "instant_restore_days",
                ir,
                f"Microsoft's page allows it for Enhanced, but Terraform's azurerm provider "
                f"accepts only {TERRAFORM_WEEKLY_IR_DAYS} days for a weekly policy",
                "risk",
            )
        )
    limits = POLICY_RULES[rules]
    key = (policy.policy_type, policy.frequency)
    default = limits.instant_restore_days.get(key, (0, 0, 0))[2]
    if ir is not None and default and ir > default:
        found.append(
            Finding(
                "instant-restore-above-default",
                "P4",
                "instant_restore_days",
                ir,
                f"the default is {default}; each extra day keeps one more day of changed data "
                "in snapshots (Enhanced: on top of a full first snapshot)",
                "risk",
            )
        )
    if lag_profile_hours is not None:
        lags = non_negative_array("lag_profile_hours", lag_profile_hours)
        if lags.shape != (24,):
            raise ValueError(f"lag_profile_hours must hold 24 values, found shape {lags.shape}")
        hours = [h for h in policy.backup_hours() if lags[int(h) % 24] >= PEAK_LAG_HOURS]
        if hours:
            shown = ", ".join(f"{int(h):02d}:{round(h % 1 * 60):02d}" for h in hours)
            found.append(
                Finding(
                    "peak-lag-hour",
                    "S11",
                    "run_hour",
                    policy.run_hour,
                    f"backups at {shown} start when snapshot-to-vault lag reaches "
                    f"{PEAK_LAG_HOURS:g} h or more; move the run time out of the peak (S13)",
                    "risk",
                )
            )
    return found


def lint_estate(policy: Policy, disks: pl.DataFrame) -> list[Finding]:
    """Findings for the VMs of an estate protected by ``policy`` (G1, G8, G11, X1).

    Parameters
    ----------
    policy
        The policy the VMs would be protected by.
    disks
        One row per disk (:func:`vmbackup.inventory.estate_disks`).

    Returns
    -------
    list of Finding
        One per VM and problem: ``refused`` where the VM cannot be protected under this policy,
        ``risk`` where it can but the bill or the backup differs.
    """
    instance("policy", policy, Policy, "a vmbackup.policy.Policy")
    table = vm_eligibility(disks)
    ok_column = {
        ("enhanced", "crash"): "agentless_ok",
        ("enhanced", "application"): "enhanced_ok",
    }.get((policy.policy_type, policy.consistency), "standard_ok")
    found = []
    for row in table.iter_rows(named=True):
        vm = row["vm_name"]
        if not row[ok_column]:
            relevant = [
                r
                for r in row["reasons"]
                if ("(G1)" in r) == (ok_column == "agentless_ok")
                or ("(G1)" not in r and "Standard" not in r and "Enhanced" not in r)
            ]
            if ok_column != "standard_ok":
                relevant = [r for r in relevant if "Standard" not in r and "Enhanced" not in r]
            found.append(
                Finding(
                    "vm-not-protectable",
                    "G8/G11",
                    f"vm {vm}",
                    policy.name,
                    "; ".join(relevant) or "not eligible",
                )
            )
            continue
        risks = list(row["risks"])
        if policy.policy_type != "standard":
            risks = [r for r in risks if "Trusted Launch" not in r]
        found += [Finding("vm-risk", "G8", f"vm {vm}", policy.name, r, "risk") for r in risks]
    return found


def enhanced_whatif(
    policy: Policy,
    *,
    used_gb: float = 100.0,
    daily_churn_gb: float = 2.0,
    prices: Prices,
    redundancy: str = "GRS",
    interval_hours: int | None = 12,
    on: dt.date = dt.date(2027, 12, 31),
) -> pl.DataFrame:
    """The same VMs under ``policy`` and under its Enhanced twins, side by side.

    The twins keep the policy's retention and Instant Restore days (capped where the hourly
    interval allows fewer, G2): one on the same schedule, one every ``interval_hours``.

    Parameters
    ----------
    policy
        The policy as it is (usually Standard).
    used_gb, daily_churn_gb
        The protected VMs' used data [GB] and data changed per day [GB] (default: Microsoft's
        P4 example, 100 GB at 2%).
    prices
        Snapshot and vault storage prices.
    redundancy
        Vault storage redundancy.
    interval_hours
        The hourly twin's interval [h]; None leaves it out.
    on
        The day the vault is measured, after two years of backups from 2026-01-01.

    Returns
    -------
    polars.DataFrame
        One row per policy: ``policy``, ``snapshots_kept``, ``snapshot_gb``,
        ``snapshot_usd_per_month``, ``vault_points``, ``vault_gb``, ``vault_usd_per_month``,
        ``rpo_hours``.
    """
    instance("policy", policy, Policy, "a vmbackup.policy.Policy")
    instance("prices", prices, Prices, "a Prices table (vmbackup.data.read_prices)")
    used_gb = non_negative("used_gb", used_gb)
    daily_churn_gb = non_negative("daily_churn_gb", daily_churn_gb)
    redundancy = choice("redundancy", redundancy, REDUNDANCIES)
    twins = {f"{policy.name} (as is)": policy}
    ir = policy.instant_restore_days or 1
    base = dataclasses.replace(policy, policy_type="enhanced", rules="today", enforce=False)
    same = dataclasses.replace(
        base, instant_restore_days=max(ir, 5) if policy.frequency == "weekly" else ir
    )
    twins[f"Enhanced, {policy.frequency}"] = same
    if interval_hours is not None and policy.frequency == "daily":
        cap = POLICY_RULES["today"].hourly_instant_restore_max_days.get(interval_hours, 30)
        twins[f"Enhanced, every {interval_hours} h"] = dataclasses.replace(
            base,
            frequency="hourly",
            hourly_interval_hours=interval_hours,
            window_hours=24,
            instant_restore_days=min(ir, cap),
        )
    start = dt.date(2026, 1, 1)
    days = pl.date_range(start, on, "1d", eager=True)
    rows = []
    for label, twin in twins.items():
        kept_days = twin.instant_restore_days or 1
        snapshots = float(snapshot_storage_gb(twin.policy_type, used_gb, daily_churn_gb, kept_days))
        vault = float(vault_storage_gb(twin, days, used_gb, daily_churn_gb)[-1])
        price = snapshot_meter(prices, twin.policy_type)[3]  # by policy type, G9
        rows.append(
            {
                "policy": label,
                "snapshots_kept": kept_days * twin.backups_per_day(),
                "snapshot_gb": snapshots,
                "snapshot_usd_per_month": snapshots * price,
                "vault_points": recovery_points(twin, start, on).height,
                "vault_gb": vault,
                "vault_usd_per_month": vault * prices.storage_usd_per_gb_month[redundancy],
                "rpo_hours": twin.rpo_hours(),
            }
        )
    return pl.DataFrame(rows)
