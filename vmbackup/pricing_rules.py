"""How Azure bills VM backup, as dated rule sets (S27, G1, G5, G8, G9, G10).

Prices (how much per meter) live in ``datasets/prices.csv``; this module holds the *rules*
(what is charged, on what size, for how long), each with the day it took effect and the page
it comes from. A bill picks the rule set in force on each day of its months
(:func:`rules_on`), so the service description's preview example (S27) and today's bill are
both reproducible, and no flag in code decides between them.

Sources (Microsoft's docs repository ``MicrosoftDocs/azure-docs``, ``articles/backup/``):

- backup-azure-vms-agentless-multi-disk-crash-consistent-overview.md, ms.date 2024-03-14
  (preview: 0.5 protected instance per VM) and ms.date 2025-07-25 (generally available: a full
  protected-instance fee whose size is the VM's used size, taken as 50% of its provisioned
  size). The GA date itself is not stated; the GA rules apply from 2025-08-01, the first
  whole month after the first page version announcing GA (a choice, tested).
- backup-azure-enhanced-soft-delete-about.md, ms.date 2022-11-24: soft-delete retention 14 to
  180 days; the 14 free days are the *last* 14 of the retention, the days before them are
  billed like "stop protection, retain data" (protected instance and storage). The page's
  example: 60 days of soft delete, recovered after 52: 46 days billed, the last 6 free.
- backup-instant-restore-capability.md, ms.date 2025-06-16 (G9): a Standard policy's
  snapshots follow blob snapshot pricing, an Enhanced policy's are managed-disk incremental
  snapshots (on Standard HDD storage whatever the parent disk, disks-incremental-snapshots.md);
  the prices are rows of ``datasets/prices.csv`` chosen by :func:`vmbackup.billing.snapshot_meter`.
  Expired snapshots are removed up to 24 h late, so one to three more snapshots than retained
  exist, and the FAQ says they are charged (G9.5).
- backup-instant-restore-capability.md (G8.2): Trusted Launch VMs under a Standard policy take
  managed-disk snapshots, so they are billed like Enhanced ones (first snapshot full).
- The GA date of the agentless rules (2025-08-01) is the project's assumption A2.
- archive-tier-support.md, ms.date 2023-04-15 (G7): see :mod:`vmbackup.archive`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PRICING_RULES", "PricingRules", "rules_on"]


@dataclass(frozen=True)
class PricingRules:
    """What Azure charges for VM backup from ``effective_from`` until the next rule set.

    Parameters
    ----------
    name
        ``"preview"`` (the service description's, S27) or ``"ga"`` (today's, G1).
    effective_from
        First day the rules apply.
    sources
        Pages the rules come from, with their ``ms.date``.
    agentless_pi_factor
        Share of a protected-instance fee charged for an agentless crash-consistent VM.
    agentless_size_basis
        What the agentless protected-instance size is: ``"used"`` (the used data, S26) or
        ``"provisioned"`` (a share of the provisioned disk size).
    agentless_provisioned_share
        The share of the provisioned size taken as used size when the basis is provisioned.
    soft_delete_free_days
        Soft-deleted days that cost nothing (G5, P5).
    soft_delete_free_at_end
        True: the free days are the last ones of the soft-delete retention; False: the first.
    soft_delete_max_days
        Longest soft-delete retention (enhanced soft delete) [days].
    snapshot_cleanup_lag_hours
        How long after expiry a snapshot may still exist and be billed (G9) [h].
    snapshot_cleanup_max_extra
        The most snapshots beyond the retained ones that clean-up lag leaves (G9: n+1 to n+3).
    """

    name: str
    effective_from: dt.date
    sources: tuple[str, ...]
    agentless_pi_factor: float
    agentless_size_basis: str
    agentless_provisioned_share: float
    soft_delete_free_days: int = 14
    soft_delete_free_at_end: bool = True
    soft_delete_max_days: int = 180
    snapshot_cleanup_lag_hours: float = 24.0
    snapshot_cleanup_max_extra: int = 3


_SHARED = (
    "G5: backup-azure-enhanced-soft-delete-about.md (ms.date 2022-11-24): 14-180 days, the "
    "last 14 free, earlier days billed as stop protection with data retained",
    "G9: backup-instant-restore-capability.md (ms.date 2025-06-16): clean-up lag, n+1 to n+3 "
    "snapshots for up to 24 h, charged (G9.5)",
)

#: The rule sets in date order; each applies from its ``effective_from`` until the next one.
PRICING_RULES: tuple[PricingRules, ...] = (
    PricingRules(
        name="preview",
        effective_from=dt.date(2000, 1, 1),
        sources=(
            "S27: the service description; backup-azure-vms-agentless-multi-disk-crash-"
            "consistent-overview.md (ms.date 2024-03-14): 0.5 PI per VM during preview",
            *_SHARED,
        ),
        agentless_pi_factor=0.5,
        agentless_size_basis="used",
        agentless_provisioned_share=1.0,
    ),
    PricingRules(
        name="ga",
        effective_from=dt.date(2025, 8, 1),
        sources=(
            "G1: backup-azure-vms-agentless-multi-disk-crash-consistent-overview.md (ms.date "
            "2025-07-25): GA, a full PI fee on a used size of 50% of the provisioned size; "
            "effective date 2025-08-01 is the project's assumption A2",
            *_SHARED,
        ),
        agentless_pi_factor=1.0,
        agentless_size_basis="provisioned",
        agentless_provisioned_share=0.5,
    ),
)


def rules_on(days: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index into :data:`PRICING_RULES` of the rule set in force on each day.

    Parameters
    ----------
    days
        Dates (``datetime.date`` or numpy ``datetime64[D]``), scalar or array.

    Examples
    --------
    >>> [PRICING_RULES[i].name for i in rules_on([dt.date(2024, 5, 1), dt.date(2025, 8, 1)])]
    ['preview', 'ga']
    """
    starts = np.array([r.effective_from for r in PRICING_RULES], dtype="datetime64[D]")
    when = np.asarray(days, dtype="datetime64[D]")
    return np.asarray(np.searchsorted(starts, when, side="right") - 1, dtype=np.int64)
