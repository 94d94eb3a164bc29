"""A straightforward simpy model of the restore scenario, the reference for vmbackup.restore.

Each disk is a process that waits for ``remaining / rate`` and is interrupted whenever another
disk joins or leaves its account, so it can book its progress and wait again at the new rate
(the rate of ``n`` disks on an account is the plan's, :meth:`RestorePlan.disk_rate_mb_s`).
The vault is a ``simpy.Resource`` with ``vault_concurrency`` slots, granted in request order;
a job asks for a slot once it is ready.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from vmbackup.restore import RestorePlan


def simulate_with_simpy(plan: RestorePlan) -> list[float]:
    """End time of each VM's restore [h], in queue order."""
    env = simpy.Environment()
    vault = simpy.Resource(env, capacity=plan.vault_concurrency)
    n_accounts = plan.account_capacity_mb_s.size
    on_account: list[set[Any]] = [set() for _ in range(n_accounts)]
    end = [0.0] * len(plan.vm_names)

    known: dict[tuple[int, int], float] = {}

    def rate(a: int) -> float:
        """The plan's rate for the disks now on ``a`` (kept once computed: simpy is the
        reference for the event logic, not a benchmark of the formula's numpy call)."""
        key = (a, len(on_account[a]))
        if key not in known:
            known[key] = float(plan.disk_rate_mb_s(a, key[1]))
        return known[key]

    def shake(a: int, me: Any) -> None:
        for other in list(on_account[a]):
            if other is not me and other.is_alive:
                other.interrupt()

    def disk(a: int, size_mb: float) -> Generator[Any, Any, None]:
        me = env.active_process
        on_account[a].add(me)
        shake(a, me)
        remaining = size_mb
        while remaining > 1e-9 * max(1.0, size_mb):
            r = rate(a)
            began = env.now
            try:
                yield env.timeout(remaining / r)
                remaining = 0.0
            except simpy.Interrupt:
                remaining -= r * (env.now - began)
        on_account[a].discard(me)
        shake(a, me)

    def job(vm: int) -> Generator[Any, Any, None]:
        yield env.timeout(float(plan.vm_ready_hours[vm]) * 3600.0)
        with vault.request() as slot:
            yield slot
            if plan.vm_from_snapshot[vm]:
                yield env.timeout(plan.snapshot_restore_hours * 3600.0)
            else:
                a = int(plan.vm_account[vm])
                sizes = plan.disk_mb[plan.disk_vm == vm]
                yield env.all_of([env.process(disk(a, float(s))) for s in sizes])
            end[vm] = env.now / 3600.0

    for vm in range(len(plan.vm_names)):
        env.process(job(vm))
    env.run()
    return end
