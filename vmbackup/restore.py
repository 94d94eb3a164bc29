"""Restoring many VMs from a vault into storage accounts (items S19, S20, S22, R2, R3).

The model:

- Each VM is one restore job; the vault runs at most ``vault_concurrency`` jobs at once and
  queues the rest in order (S19).
- A job restored from the **vault tier** copies each of its disks (OS and data, used data
  only) into its target storage account; the disks of a job flow in parallel.
- A storage account's restore bandwidth is ``min(throughput_mb_s, iops x io_size)``, less the
  share taken by other applications (``background_load``, S19). The disks flowing into an account
  at the same moment share it equally, each capped at ``disk_throughput_mb_s`` (R3: about 60 MB/s
  per blob). Rates change only when a disk starts or finishes, so the computation is exact: an
  event heap with per-account virtual time, no time grid.
- A job restored from the **snapshot tier** (its Instant Restore snapshot still exists) takes
  ``snapshot_restore_hours`` and uses no account bandwidth (R2: minutes, not hours).

Defaults (assumptions, in :data:`DEFAULTS`): ``disk_throughput_mb_s=60`` (R3's older per-blob
figure), ``account_iops=20_000`` (R3's lower bound), ``io_size_kib=32`` (chosen so that an account
saturates at about 11 disks at the per-blob rate, matching S22's advice to spread 5 to 10 disks
or more), ``account_throughput_mb_s=7_500`` (R3: 60 Gbps ingress), ``vault_concurrency=100``
(by analogy with X2's 100 concurrent backups per vault), ``snapshot_restore_hours=0.25``.
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
    "PLACEMENTS",
    "RestorePlan",
    "account_bandwidth_mb_s",
    "place",
    "restore_plan",
    "simulate_restore",
]

PLACEMENTS = ("one-account", "per-vm", "round-robin", "balanced")
DEFAULTS: dict[str, float] = {
    "disk_throughput_mb_s": 60.0,
    "account_iops": 20_000.0,
    "io_size_kib": 32.0,
    "account_throughput_mb_s": 7_500.0,
    "vault_concurrency": 100,
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
    """Restore bandwidth an account offers [MB/s]: throughput or IOPS x I/O size, whichever is
    lower, minus the share other applications use (``background_load`` in [0, 1)).

    >>> float(account_bandwidth_mb_s())
    655.36
    >>> float(account_bandwidth_mb_s(background_load=0.5))
    327.68
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

    Built by :func:`restore_plan`; all sizes in MB, rates in MB/s.
    """

    vm_names: tuple[str, ...]
    disk_vm: npt.NDArray[np.int64]  # the VM (index) of each disk
    disk_mb: npt.NDArray[np.float64]
    vm_account: npt.NDArray[np.int64]
    vm_from_snapshot: npt.NDArray[np.bool_]
    account_bandwidth_mb_s: npt.NDArray[np.float64]
    disk_throughput_mb_s: float
    vault_concurrency: int
    snapshot_restore_hours: float


def restore_plan(
    disks: pl.DataFrame,
    *,
    placement: str = "per-vm",
    accounts: int = 1,
    background_load: npt.ArrayLike = 0.0,
    tier: str = "vault",
    **overrides: Any,
) -> RestorePlan:
    """Turn a table of disks into a :class:`RestorePlan`.

    Parameters
    ----------
    disks
        One row per disk with ``vm_name`` and ``used_gb`` (and ``disk_role``; temporary disks
        are dropped: they are not backed up). VMs restore in order of first appearance.
    placement, accounts
        See :func:`place`; ``per-vm`` uses as many accounts as VMs.
    background_load
        Share of each account's capacity used by other applications, scalar or per account.
    tier
        ``"vault"`` or ``"snapshot"`` for every VM (R2).
    overrides
        Any of :data:`DEFAULTS`.
    """
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown option(s) {sorted(unknown)}; choose from {list(DEFAULTS)}")
    settings = DEFAULTS | overrides
    disks = check_frame(
        disks,
        {
            "vm_name": Column("str"),
            "used_gb": Column("float", low=0),
            "disk_role": Column("str", allowed=("os", "data", "temp"), required=False),
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
    first_seen = disks.select(pl.col("vm_name").unique(maintain_order=True)).to_series()
    order = pl.DataFrame({"vm_name": first_seen, "queue": np.arange(first_seen.len())})
    disk_vm = disks.select("vm_name").join(order, on="vm_name", how="left")["queue"].to_numpy()
    n_vms = first_seen.len()
    disks_per_vm = np.bincount(disk_vm, minlength=n_vms)
    kind = choice("placement", placement, PLACEMENTS)
    vm_account = place(disks_per_vm, kind, accounts)
    n_accounts = n_vms if kind == "per-vm" else (1 if kind == "one-account" else accounts)
    load = non_negative_array("background_load", background_load)
    if load.ndim == 1 and load.size != n_accounts and kind in ("round-robin", "balanced"):
        raise ValueError(
            f"background_load has {load.size} values; give one, or one per account ({n_accounts})"
        )
    if load.ndim > 1 or (load.ndim == 1 and load.size not in (1, n_accounts)):
        raise ValueError(
            f"background_load has shape {load.shape}; give one value, or one per account "
            f"({n_accounts})"
        )
    load = np.broadcast_to(load, (n_accounts,))
    bandwidth = account_bandwidth_mb_s(
        bounded("account_throughput_mb_s", settings["account_throughput_mb_s"], 1, 1e6),
        bounded("account_iops", settings["account_iops"], 1, 1e8),
        bounded("io_size_kib", settings["io_size_kib"], 0.5, 4096),
        load,
    )
    concurrency = whole("vault_concurrency", settings["vault_concurrency"], 1, 10**6)
    from_snapshot = choice("tier", tier, ("vault", "snapshot")) == "snapshot"
    return RestorePlan(
        vm_names=tuple(first_seen.to_list()),
        disk_vm=disk_vm.astype(np.int64),
        disk_mb=used * MB_PER_GB,
        vm_account=vm_account,
        vm_from_snapshot=np.full(n_vms, from_snapshot),
        account_bandwidth_mb_s=np.broadcast_to(bandwidth, (n_accounts,)).astype(np.float64),
        disk_throughput_mb_s=bounded(
            "disk_throughput_mb_s", settings["disk_throughput_mb_s"], 0.1, 1e5
        ),
        vault_concurrency=int(concurrency),
        snapshot_restore_hours=non_negative(
            "snapshot_restore_hours", settings["snapshot_restore_hours"], high=24 * 365
        ),
    )


def simulate_restore(plan: RestorePlan) -> pl.DataFrame:
    """Exact finish times of every restore job (event heap, per-account virtual time).

    Returns
    -------
    polars.DataFrame
        One row per VM in queue order: ``vm_name``, ``account``, ``tier``, ``start_hours``
        (when the vault took the job), ``end_hours``, ``wait_hours``, ``duration_hours``.
    """
    n_vms = len(plan.vm_names)
    n_accounts = plan.account_bandwidth_mb_s.size
    order = np.argsort(plan.disk_vm, kind="stable")
    bounds = np.searchsorted(plan.disk_vm[order], np.arange(n_vms + 1)).tolist()
    flat = plan.disk_mb[order].tolist()  # disk sizes, VM by VM: flat[bounds[vm]:bounds[vm + 1]]
    bandwidth = plan.account_bandwidth_mb_s.tolist()
    cap = plan.disk_throughput_mb_s
    snapshot_seconds = plan.snapshot_restore_hours * 3600.0
    vm_account: list[int] = plan.vm_account.tolist()
    from_snapshot = plan.vm_from_snapshot.tolist()
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
    events: list[tuple[float, int, int]] = []  # (time, account or -1 for a snapshot job, tag)

    def reschedule(a: int, now: float) -> None:
        version[a] += 1
        n = active[a]
        r = rate[a] = (bandwidth[a] / n if bandwidth[a] < cap * n else cap) if n else 0.0
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

    queue = deque(range(n_vms))
    for _ in range(min(plan.vault_concurrency, n_vms)):
        begin(queue.popleft(), 0.0)
    for a in range(n_accounts):
        reschedule(a, 0.0)
    while events:
        now, a, tag = pop(events)
        if a < 0:  # a snapshot-tier job ends
            end[tag] = now
            if queue and (b := begin(queue.popleft(), now)) >= 0:
                reschedule(b, now)
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
                if queue and (b := begin(queue.popleft(), now)) >= 0 and b != a:
                    reschedule(b, now)
        reschedule(a, now)

    start_h = np.asarray(start) / 3600.0
    end_h = np.asarray(end) / 3600.0
    return pl.DataFrame(
        {
            "vm_name": list(plan.vm_names),
            "account": plan.vm_account,
            "tier": np.where(plan.vm_from_snapshot, "snapshot", "vault"),
            "start_hours": start_h,
            "end_hours": end_h,
            "wait_hours": start_h,
            "duration_hours": end_h - start_h,
        }
    )
