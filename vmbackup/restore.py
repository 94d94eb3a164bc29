"""Restoring many VMs from a vault into storage accounts (items S19, S20, S22, R2, R3).

The model
---------
- Each VM is one restore job. The vault runs at most ``vault_concurrency`` jobs at once and
  queues the rest in order (S19: "restore requests queue"); a job enters the queue when it is
  ready (at once, or after an archived point is rehydrated, see :mod:`vmbackup.restore_options`).
- A job restored from the **vault tier** copies each of its disks (OS and data, used data only)
  into its target storage account; the disks of a job flow in parallel (S19: "data is copied
  from the vault to the storage account").
- A job restored from the **snapshot tier** (its Instant Restore snapshot still exists) takes
  ``snapshot_restore_hours`` and writes nothing through the account (R2: minutes, not hours).
- **How fast a disk is written** (:func:`disk_rate_mb_s`). Alone in an idle account a disk is
  written at its page blob's target, ``c``. An account is one server shared by everything
  written into it: other applications use a share ``u`` of it (``background_load``), and each
  other restoring disk uses ``r / C`` of it, where ``C`` is the account's capacity and ``r`` the
  rate each disk gets. A stream on a shared server runs at its solo speed times the share the
  others leave free (the stretch factor ``1 / (1 - rho)`` of a processor-sharing server:
  Kleinrock, *Queueing Systems* vol. 2, 1976, ch. 4), so ``r = c (1 - u - (n - 1) r / C)``:

  .. math:: r(n, u) = \\frac{c\\,(1 - u)}{1 + (n - 1)\\,c / C}

  The same curve is Gunther's Universal Scalability Law with contention ``sigma = c / C`` and no
  coherency term (N. J. Gunther, *Guerrilla Capacity Planning*, Springer 2007, ch. 4). It makes
  the seed's three statements hold everywhere, not only once the account is full: any other
  load slows every restore into the account (S19), every disk added to an account slows the
  others (S22), so more accounts finish sooner (S20); and the disks of one account together
  never exceed ``C (1 - u)``.
- Rates change only when a disk starts or finishes, so the computation is exact: an event heap
  with per-account virtual time, no time grid.

Documented figures (R3; :data:`STORAGE_TARGETS`, :data:`DEFAULTS`)
-------------------------------------------------------------------
From ``MicrosoftDocs/azure-docs``, the include ``azure-storage-account-limits-standard.md`` of
"Scalability and performance targets for standard storage accounts" (ms.date 2025-10-31, read
2026-11): a general-purpose v2 account takes 40,000 requests/s and 60 Gbps ingress in the
listed major regions (East US, West Europe, UK South, Southeast Asia, ...), 20,000 requests/s
and 25 Gbps elsewhere. From ``storage-blob-scale-targets.md`` of "Scalability and performance
targets for Blob storage" (ms.date 2025-12-10): one page blob takes up to 500 requests/s and
60 MiB/s.

Units: Gbps are 10^9 bits/s, so 60 Gbps = 7,500 MB/s and 25 Gbps = 3,125 MB/s; the page blob's
60 MiB/s is 60 x 1,048,576 bytes/s = 62.91 MB/s (GB and MB are 10^9 and 10^6 bytes here).

Assumptions (not documented)
----------------------------
- Restore writes pages of 4 MiB, the largest ``Put Page`` call (Blob REST API, and
  ``PageBlobClient.UploadPages``: "up to 4 MB"); at that size neither request-rate target binds
  and a disk runs at the 60 MiB/s page blob target. Smaller writes (``io_size_kib``) make the
  request targets bind: ``min(500 x size, 60 MiB/s)`` per disk, ``min(requests x size,
  ingress)`` per account.
- The processor-sharing curve above, with ``sigma = c / C`` (0.84% in a major region, 2.0%
  elsewhere): Microsoft publishes targets, not how an account shares them.
- ``vault_concurrency=100``, by analogy with X2's 100 concurrent backups per vault; Microsoft
  gives no restore figure.
- ``snapshot_restore_hours=0.25``: R2 says minutes.
- The restore page disagrees with itself on whether a managed VM's vault-tier restore writes
  VHDs into the staging account ("Storage accounts": yes, for disks under 4 TB and VMs with
  fewer than 16 disks; "Restore disks": a managed "Create VM" does not use it;
  backup-azure-arm-restore-vms.md, ms.date 2025-11-24). The model follows the seed (S19): the
  data goes through the account. Large VMs that skip the VHD copy are not modelled apart.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import (
    Column,
    bounded,
    check_frame,
    choice,
    non_negative,
    non_negative_array,
    positive,
    whole,
)

__all__ = [
    "DEFAULTS",
    "MIB_MB",
    "PLACEMENTS",
    "REGION_CLASSES",
    "STORAGE_TARGETS",
    "RestorePlan",
    "account_bandwidth_mb_s",
    "disk_rate_mb_s",
    "place",
    "restore_plan",
    "simulate_restore",
]

#: One MiB in MB (1,048,576 bytes / 10^6).
MIB_MB = 1_048_576 / 1e6
#: MB/s in one Gbps (10^9 bits/s / 8 / 10^6).
GBPS_MB_S = 1e9 / 8 / 1e6

PLACEMENTS = ("one-account", "per-vm", "round-robin", "balanced")
REGION_CLASSES = ("major", "other")

#: R3: documented default targets of a standard general-purpose v2 account, by region class
#: ("major": the regions the page lists, East US, West Europe, UK South, Southeast Asia and
#: others; "other": the rest). Source: azure-storage-account-limits-standard.md, ms.date
#: 2025-10-31 ("Scalability and performance targets for standard storage accounts").
STORAGE_TARGETS: dict[str, dict[str, float]] = {
    "major": {"account_throughput_mb_s": 60 * GBPS_MB_S, "account_iops": 40_000.0},
    "other": {"account_throughput_mb_s": 25 * GBPS_MB_S, "account_iops": 20_000.0},
}

#: Defaults of the restore engine: documented figures (R3) and marked assumptions (module notes).
DEFAULTS: dict[str, float] = {
    # R3, storage-blob-scale-targets.md (ms.date 2025-12-10): one page blob, 60 MiB/s ...
    "disk_throughput_mb_s": 60 * MIB_MB,
    # ... and 500 requests/s
    "disk_iops": 500.0,
    # assumption: restore writes 4 MiB pages, the largest Put Page call
    "io_size_kib": 4096.0,
    # R3: a major region's account (STORAGE_TARGETS["major"])
    **STORAGE_TARGETS["major"],
    # assumption by analogy with X2 (100 concurrent backups per vault)
    "vault_concurrency": 100,
    # assumption: R2 says minutes
    "snapshot_restore_hours": 0.25,
}
MB_PER_GB = 1000.0
#: The most target accounts a plan may name (a bound, so that no input makes a plan endless).
MAX_ACCOUNTS = 1_000_000


def account_bandwidth_mb_s(
    throughput_mb_s: npt.ArrayLike = DEFAULTS["account_throughput_mb_s"],
    iops: npt.ArrayLike = DEFAULTS["account_iops"],
    io_size_kib: float = DEFAULTS["io_size_kib"],
    background_load: npt.ArrayLike = 0.0,
) -> npt.NDArray[np.float64]:
    """What an account can take for restores [MB/s]: its ingress or its request rate times the
    write size, whichever is lower, less the share other applications use.

    Parameters
    ----------
    throughput_mb_s
        The account's ingress target [MB/s] (R3: 7,500 in a major region, 3,125 elsewhere).
    iops
        The account's request-rate target [requests/s] (R3: 40,000 or 20,000).
    io_size_kib
        Size of one restore write [KiB] (assumption: 4,096, the largest Put Page).
    background_load
        Share of the account other applications use, in [0, 1).

    Returns
    -------
    numpy.ndarray
        ``min(throughput, iops x io_size) x (1 - background_load)`` [MB/s]: the most the disks
        restoring into the account can take together.

    Examples
    --------
    >>> float(account_bandwidth_mb_s())
    7500.0
    >>> float(account_bandwidth_mb_s(io_size_kib=64))  # small writes: the request rate binds
    2621.44
    >>> float(account_bandwidth_mb_s(background_load=0.5))
    3750.0
    """
    load = non_negative_array("background_load", background_load)
    if (load >= 1).any():
        raise ValueError(f"background_load={load.max()} must be below 1 (a share of capacity)")
    throughput = non_negative_array("throughput_mb_s", throughput_mb_s)
    requests = non_negative_array("iops", iops)
    for name, values in (("throughput_mb_s", throughput), ("iops", requests)):
        if (values <= 0).any():
            raise ValueError(f"{name}={values.min()} must be > 0: an account must accept data")
    iops_limit = requests * positive("io_size_kib", io_size_kib, high=2**20) * 1024 / 1e6
    try:
        bandwidth = np.minimum(throughput, iops_limit) * (1 - load)
    except ValueError:
        raise ValueError(
            f"throughput_mb_s, iops and background_load must be scalars or arrays of one "
            f"length, found shapes {throughput.shape}, {requests.shape}, {load.shape}"
        ) from None
    return np.asarray(bandwidth, dtype=np.float64)


def disk_rate_mb_s(
    disks_on_account: npt.ArrayLike,
    *,
    background_load: npt.ArrayLike = 0.0,
    account_capacity_mb_s: npt.ArrayLike = DEFAULTS["account_throughput_mb_s"],
    disk_capacity_mb_s: float = DEFAULTS["disk_throughput_mb_s"],
) -> npt.NDArray[np.float64]:
    """Rate at which each of ``n`` disks restoring into one account is written [MB/s] (S19, S22).

    Parameters
    ----------
    disks_on_account
        ``n``, the disks being written into the account at the same moment (whole, >= 1).
    background_load
        ``u``, the share of the account other applications use, in [0, 1).
    account_capacity_mb_s
        ``C``, what the account takes in all [MB/s] (:func:`account_bandwidth_mb_s` of an idle
        account; R3: 7,500 MB/s in a major region).
    disk_capacity_mb_s
        ``c``, the rate of a disk alone in an idle account [MB/s] (R3: a page blob's 60 MiB/s);
        at most ``C``.

    Returns
    -------
    numpy.ndarray
        ``c (1 - u) / (1 + (n - 1) c / C)`` [MB/s], broadcast over the inputs.

    Notes
    -----
    Each disk runs at its solo speed times the share of the account the others leave free
    (processor sharing): ``r = c (1 - u - (n - 1) r / C)``. Every other disk costs each disk the
    share ``c / C`` of its speed at first (0.84% in a major region), and together the ``n``
    disks approach, but never exceed, ``C (1 - u)``.

    Examples
    --------
    >>> [round(float(r), 2) for r in disk_rate_mb_s([1, 2, 10, 144])]
    [62.91, 62.39, 58.5, 28.6]
    >>> round(float(disk_rate_mb_s(1, background_load=0.5)), 2)
    31.46
    """
    n = non_negative_array("disks_on_account", disks_on_account)
    if (n < 1).any() or (n != np.floor(n)).any():
        raise ValueError(f"disks_on_account={disks_on_account!r:.60} must be whole numbers >= 1")
    load = non_negative_array("background_load", background_load)
    if (load >= 1).any():
        raise ValueError(f"background_load={load.max()} must be below 1 (a share of capacity)")
    account = non_negative_array("account_capacity_mb_s", account_capacity_mb_s)
    if (account <= 0).any():
        raise ValueError(f"account_capacity_mb_s={account.min()} must be > 0")
    disk = positive("disk_capacity_mb_s", disk_capacity_mb_s)
    try:
        solo = np.minimum(disk, account)
        rate = solo * (1 - load) / (1 + (n - 1) * solo / account)
    except ValueError:
        raise ValueError(
            f"disks_on_account, background_load and account_capacity_mb_s must be scalars or "
            f"arrays of one length, found shapes {n.shape}, {load.shape}, {account.shape}"
        ) from None
    return np.asarray(rate, dtype=np.float64)


def place(disks_per_vm: npt.ArrayLike, placement: str, accounts: int = 1) -> npt.NDArray[np.int64]:
    """Choose a target account for each VM (S20, S22).

    Parameters
    ----------
    disks_per_vm
        Number of disks of each VM, in queue order.
    placement
        ``"one-account"`` (all VMs into account 0), ``"per-vm"`` (one account per VM, S20),
        ``"round-robin"`` over ``accounts`` in queue order, or ``"balanced"``: starting from one
        account, the account with the most disks is split in two until there are ``accounts``
        (so each has a similar number of disks, S22, and adding an account never puts more
        disks on any account). Round-robin has no such guarantee: going from k to k + 1
        accounts reshuffles every VM, and the restore can get slower.
    accounts
        Number of accounts for round-robin and balanced.

    >>> place([1, 3, 2, 4], "round-robin", 2).tolist()
    [0, 1, 0, 1]
    >>> place([1, 3, 2, 4], "balanced", 2).tolist()
    [0, 1, 1, 0]
    >>> place([1, 3, 2, 4], "balanced", 3).tolist()
    [2, 1, 1, 0]
    """
    kind = choice("placement", placement, PLACEMENTS)
    counts = non_negative_array("disks_per_vm", disks_per_vm)
    if counts.ndim != 1 or (counts != np.floor(counts)).any():
        raise ValueError(f"disks_per_vm={disks_per_vm!r:.60} must be a list of whole numbers")
    disks = counts.astype(np.int64)
    n = disks.size
    whole("accounts", accounts, 1, MAX_ACCOUNTS)
    accounts = min(int(accounts), max(n, 1))  # accounts beyond one per VM stay empty
    if kind == "one-account":
        return np.zeros(n, dtype=np.int64)
    if kind == "per-vm":
        return np.arange(n, dtype=np.int64)
    if kind == "round-robin":
        return np.arange(n, dtype=np.int64) % accounts
    return _balanced(disks, accounts)


def _balanced(disks: npt.NDArray[np.int64], accounts: int) -> npt.NDArray[np.int64]:
    """Split the account with the most disks in two, ``accounts - 1`` times.

    Each split deals the account's VMs, largest first, in the order A B B A A B B A..., so the
    halves carry similar numbers of disks. Because every step only splits one account, the
    placement for k + 1 accounts refines the one for k: no account ever gains disks.

    A heap of account loads finds the heaviest account (ties: the lowest account number), and
    each split sorts only that account's VMs, so the whole placement costs about
    ``V log V`` for ``V`` VMs (a VM is moved in at most ``log2(accounts)`` splits).
    """
    result = np.zeros(disks.size, dtype=np.int64)
    members: list[npt.NDArray[np.int64]] = [np.arange(disks.size, dtype=np.int64)]
    heap: list[tuple[int, int]] = []
    if disks.size >= 2:
        heap.append((-int(disks.sum()), 0))
    for new in range(1, accounts):
        if not heap:
            break  # every account holds one VM: nothing left to split
        _, heaviest = heapq.heappop(heap)
        inside = members[heaviest]  # in VM order
        ranked = inside[np.argsort(-disks[inside], kind="stable")]
        turn = np.arange(ranked.size) % 4
        second = (turn == 1) | (turn == 2)
        moved, kept = np.sort(ranked[second]), np.sort(ranked[~second])
        result[moved] = new
        members[heaviest] = kept
        members.append(moved)
        for account, part in ((heaviest, kept), (new, moved)):
            if part.size >= 2:
                heapq.heappush(heap, (-int(disks[part].sum()), account))
    return result


@dataclass(frozen=True)
class RestorePlan:
    """A restore scenario, ready to simulate (arrays in VM queue order).

    Built by :func:`restore_plan`; sizes in MB, rates in MB/s, times in hours.

    Attributes
    ----------
    vm_names
        The VMs in queue order.
    disk_vm, disk_mb
        The VM (index) and the data to copy [MB] of each disk.
    vm_account, vm_from_snapshot, vm_ready_hours
        Each VM's target account, whether it restores from the snapshot tier (R2), and when it
        may enter the vault's queue [h].
    account_capacity_mb_s, account_load
        Each account's capacity ``C`` [MB/s] and the share ``u`` other applications use.
    disk_capacity_mb_s
        ``c``, a disk's rate alone in an idle account [MB/s].
    vault_concurrency, snapshot_restore_hours
        Restore jobs the vault runs at once; duration of a snapshot-tier job [h].
    """

    vm_names: tuple[str, ...]
    disk_vm: npt.NDArray[np.int64]
    disk_mb: npt.NDArray[np.float64]
    vm_account: npt.NDArray[np.int64]
    vm_from_snapshot: npt.NDArray[np.bool_]
    vm_ready_hours: npt.NDArray[np.float64]
    account_capacity_mb_s: npt.NDArray[np.float64]
    account_load: npt.NDArray[np.float64]
    disk_capacity_mb_s: float
    vault_concurrency: int
    snapshot_restore_hours: float

    @property
    def account_bandwidth_mb_s(self) -> npt.NDArray[np.float64]:
        """What each account can take for restores, ``C (1 - u)`` [MB/s]."""
        return self.account_capacity_mb_s * (1 - self.account_load)

    def disk_rate_mb_s(self, account: npt.ArrayLike, disks: npt.ArrayLike) -> Any:
        """Rate of each disk when ``disks`` disks flow into ``account`` [MB/s]
        (:func:`disk_rate_mb_s` with this plan's figures)."""
        index = np.asarray(account, dtype=np.int64)
        return disk_rate_mb_s(
            disks,
            background_load=self.account_load[index],
            account_capacity_mb_s=self.account_capacity_mb_s[index],
            disk_capacity_mb_s=self.disk_capacity_mb_s,
        )


_VM_COLUMNS = {
    "tier": Column("str", allowed=("vault", "snapshot"), required=False),
    "ready_hours": Column("float", low=0, high=24 * 365 * 10, required=False),
}


def restore_plan(
    disks: pl.DataFrame,
    *,
    placement: str = "per-vm",
    accounts: int = 1,
    background_load: npt.ArrayLike = 0.0,
    tier: str = "vault",
    region_class: str = "major",
    **overrides: Any,
) -> RestorePlan:
    """Turn a table of disks into a :class:`RestorePlan`.

    Parameters
    ----------
    disks
        One row per disk with ``vm_name`` and ``used_gb`` [GB] (and ``disk_role``; temporary
        disks are dropped: they are not backed up). VMs restore in order of first appearance.
        Optional per-VM columns (the first row of each VM counts): ``tier`` (``"vault"`` or
        ``"snapshot"``, overrides the ``tier`` argument) and ``ready_hours`` (when the job may
        enter the vault's queue [h], 0 by default).
    placement, accounts
        See :func:`place`; ``per-vm`` uses as many accounts as VMs.
    background_load
        Share of each account's capacity used by other applications, in [0, 1); one value, or
        one per account for round-robin and balanced.
    tier
        ``"vault"`` or ``"snapshot"`` for every VM (R2).
    region_class
        ``"major"`` or ``"other"``: the account targets of :data:`STORAGE_TARGETS` (R3).
    overrides
        Any of :data:`DEFAULTS` (an explicit ``account_throughput_mb_s`` or ``account_iops``
        wins over ``region_class``).
    """
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; choose from {list(DEFAULTS)}")
    region = choice("region_class", region_class, REGION_CLASSES)
    settings = DEFAULTS | STORAGE_TARGETS[region] | overrides
    disks = check_frame(
        disks,
        {
            "vm_name": Column("str"),
            "used_gb": Column("float", low=0),
            "disk_role": Column("str", allowed=("os", "data", "temp"), required=False),
            **_VM_COLUMNS,
        },
        name="disks",
        label="vm_name",
    )
    whole("accounts", accounts, 1, MAX_ACCOUNTS)
    if "disk_role" in disks.columns:
        disks = disks.filter(pl.col("disk_role") != "temp")
    if disks.height == 0:
        raise ValueError("the disks table holds no OS or data disk to restore")
    used = non_negative_array("used_gb", disks["used_gb"].to_numpy())
    first = disks.unique("vm_name", keep="first", maintain_order=True)
    order = pl.DataFrame({"vm_name": first["vm_name"], "queue": np.arange(first.height)})
    disk_vm = disks.select("vm_name").join(order, on="vm_name", how="left")["queue"].to_numpy()
    n_vms = first.height
    disks_per_vm = np.bincount(disk_vm, minlength=n_vms)
    kind = choice("placement", placement, PLACEMENTS)
    vm_account = place(disks_per_vm, kind, accounts)
    named = accounts if kind in ("round-robin", "balanced") else 1
    load = non_negative_array("background_load", background_load)
    if load.ndim > 1 or (load.ndim == 1 and load.size not in (1, named)):
        per = f"one per account ({named})" if named > 1 else f"one for placement={kind!r}"
        raise ValueError(f"background_load has shape {load.shape}; give one value, or {per}")
    if (load >= 1).any():
        raise ValueError(f"background_load={load.max()} must be below 1 (a share of capacity)")
    # accounts beyond one per VM stay empty (see place): they are left out
    n_accounts = n_vms if kind == "per-vm" else min(named, n_vms)
    load = np.broadcast_to(load, (named,))[:n_accounts].astype(np.float64)
    if kind == "per-vm":
        load = np.broadcast_to(load[:1], (n_accounts,)).astype(np.float64)
    io_size_kib = bounded("io_size_kib", settings["io_size_kib"], 0.5, 4096)
    capacity = account_bandwidth_mb_s(
        bounded("account_throughput_mb_s", settings["account_throughput_mb_s"], 1, 1e6),
        bounded("account_iops", settings["account_iops"], 1, 1e8),
        io_size_kib,
    )
    disk_capacity = min(
        bounded("disk_throughput_mb_s", settings["disk_throughput_mb_s"], 0.1, 1e5),
        bounded("disk_iops", settings["disk_iops"], 1, 1e8) * io_size_kib * 1024 / 1e6,
    )
    concurrency = whole("vault_concurrency", settings["vault_concurrency"], 1, 10**6)
    default_snapshot = choice("tier", tier, ("vault", "snapshot")) == "snapshot"
    from_snapshot = (
        (first["tier"] == "snapshot").to_numpy()
        if "tier" in first.columns
        else np.full(n_vms, default_snapshot)
    )
    ready = (
        first["ready_hours"].to_numpy().astype(np.float64)
        if "ready_hours" in first.columns
        else np.zeros(n_vms)
    )
    return RestorePlan(
        vm_names=tuple(first["vm_name"].to_list()),
        disk_vm=disk_vm.astype(np.int64),
        disk_mb=used * MB_PER_GB,
        vm_account=vm_account,
        vm_from_snapshot=np.asarray(from_snapshot, dtype=np.bool_),
        vm_ready_hours=ready,
        account_capacity_mb_s=np.broadcast_to(capacity, (n_accounts,)).astype(np.float64),
        account_load=load,
        disk_capacity_mb_s=float(disk_capacity),
        vault_concurrency=int(concurrency),
        snapshot_restore_hours=non_negative(
            "snapshot_restore_hours", settings["snapshot_restore_hours"], high=24 * 365
        ),
    )


def _rate_table(plan: RestorePlan) -> tuple[list[float], list[int]]:
    """Every rate the simulation can need, from :func:`disk_rate_mb_s` in one vectorised call:
    ``rates[offset[a] + n - 1]`` is the rate of each of ``n`` disks flowing into account ``a``
    (``n`` up to the vault-tier disks placed on ``a``)."""
    n_accounts = plan.account_capacity_mb_s.size
    vault_disk = ~plan.vm_from_snapshot[plan.disk_vm]
    most = np.bincount(plan.vm_account[plan.disk_vm[vault_disk]], minlength=n_accounts)
    offset = np.concatenate([[0], np.cumsum(most)[:-1]]).astype(np.int64)
    account = np.repeat(np.arange(n_accounts), most)
    disks = np.arange(account.size) - offset[account] + 1
    rates = plan.disk_rate_mb_s(account, disks) if account.size else np.zeros(0)
    return np.asarray(rates).tolist(), offset.tolist()


def simulate_restore(plan: RestorePlan) -> pl.DataFrame:
    """Exact finish times of every restore job (event heap, per-account virtual time).

    Jobs enter the vault's queue when ready (``vm_ready_hours``), first come first served, ties
    in queue order; the vault runs ``vault_concurrency`` of them at once.

    Returns
    -------
    polars.DataFrame
        One row per VM in queue order: ``vm_name``, ``account``, ``tier``, ``ready_hours``
        (when it could enter the queue), ``start_hours`` (when the vault took the job),
        ``end_hours``, ``wait_hours`` (= ``start_hours``: everything before the copy) and
        ``duration_hours``.
    """
    n_vms = len(plan.vm_names)
    n_accounts = plan.account_capacity_mb_s.size
    order = np.argsort(plan.disk_vm, kind="stable")
    bounds = np.searchsorted(plan.disk_vm[order], np.arange(n_vms + 1)).tolist()
    flat = plan.disk_mb[order].tolist()  # disk sizes, VM by VM: flat[bounds[vm]:bounds[vm + 1]]
    table, offset = _rate_table(plan)
    before = [o - 1 for o in offset]  # table[before[a] + n]: the rate of n disks on account a
    snapshot_seconds = plan.snapshot_restore_hours * 3600.0
    vm_account: list[int] = plan.vm_account.tolist()
    from_snapshot = plan.vm_from_snapshot.tolist()
    ready_s = (plan.vm_ready_hours * 3600.0).tolist()
    push, pop, inf = heapq.heappush, heapq.heappop, float("inf")

    virtual = [0.0] * n_accounts  # work done so far by each disk active on the account [MB]
    last = [0.0] * n_accounts  # when ``virtual`` was last brought up to date [s]
    active = [0] * n_accounts
    rate = [0.0] * n_accounts  # current rate of each active disk [MB/s]
    version = [0] * n_accounts  # bumps at every rate change; older events are stale
    flows: list[list[tuple[float, int]]] = [[] for _ in range(n_accounts)]  # (virtual end, vm)
    remaining = [0] * n_vms
    start = [0.0] * n_vms
    end = [0.0] * n_vms
    # (time, account; -1: a snapshot job ends, -2: a job becomes ready; tag)
    events: list[tuple[float, int, int]] = []

    def reschedule(a: int, now: float) -> None:
        version[a] += 1
        n = active[a]
        r = rate[a] = table[before[a] + n] if n else 0.0
        heap = flows[a]
        if heap:
            wait = (heap[0][0] - virtual[a]) / r if r > 0 else inf
            push(events, (now + wait if wait > 0 else now, a, version[a]))

    def begin(vm: int, now: float) -> int:
        """Start a job; return the account whose rates changed (-1 for a snapshot job)."""
        start[vm] = now
        if from_snapshot[vm]:
            push(events, (now + snapshot_seconds, -1, vm))
            return -1
        a = vm_account[vm]
        virtual[a] += rate[a] * (now - last[a])
        last[a] = now
        base = virtual[a]
        heap = flows[a]
        first, stop = bounds[vm], bounds[vm + 1]
        for d in range(first, stop):
            push(heap, (base + flat[d], vm))
        remaining[vm] = stop - first
        active[a] += stop - first
        return a

    queue = deque(np.lexsort((np.arange(n_vms), plan.vm_ready_hours)).tolist())
    free = min(plan.vault_concurrency, n_vms)
    released = [inf]  # the ready time a release event is pending for

    def fill(now: float, touched: list[int]) -> None:
        """Start the ready jobs while slots are free; list the accounts touched."""
        nonlocal free
        while free and queue and ready_s[queue[0]] <= now:
            vm = queue.popleft()
            free -= 1
            a = begin(vm, now)
            if a >= 0:
                touched.append(a)
        if free and queue and released[0] != ready_s[queue[0]]:
            released[0] = ready_s[queue[0]]
            push(events, (released[0], -2, 0))

    touched: list[int] = []
    fill(0.0, touched)
    for a in set(touched):
        reschedule(a, 0.0)
    touched.clear()
    while events:
        now, a, tag = pop(events)
        if a < 0:
            if a == -2:  # the next job in the queue is ready
                released[0] = inf
            else:  # a snapshot-tier job ends
                end[tag] = now
                free += 1
            fill(now, touched)
            for b in set(touched):
                reschedule(b, now)
            touched.clear()
            continue
        if tag != version[a]:
            continue  # superseded by a later rate change
        virtual[a] += rate[a] * (now - last[a])
        last[a] = now
        heap = flows[a]
        done = virtual[a]
        limit = done + 1e-9 * (done if done > 1.0 else 1.0)
        while heap and heap[0][0] <= limit:
            vm = pop(heap)[1]
            active[a] -= 1
            remaining[vm] -= 1
            if remaining[vm] == 0:
                end[vm] = now
                free += 1
                if queue:
                    fill(now, touched)
        reschedule(a, now)
        if touched:
            for b in touched:  # a repeat only bumps the version once more
                if b != a:
                    reschedule(b, now)
            touched.clear()

    start_h = np.asarray(start) / 3600.0
    end_h = np.asarray(end) / 3600.0
    return pl.DataFrame(
        {
            "vm_name": list(plan.vm_names),
            "account": plan.vm_account,
            "tier": np.where(plan.vm_from_snapshot, "snapshot", "vault"),
            "ready_hours": plan.vm_ready_hours,
            "start_hours": start_h,
            "end_hours": end_h,
            "wait_hours": start_h,
            "duration_hours": end_h - start_h,
        }
    )
