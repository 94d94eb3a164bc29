"""The fleet table: its columns, their types, vocabularies and ranges (one place for all).

A fleet is one row per disk, a VM's columns repeated on each of its disks (see
``datasets/README.md``). :data:`FLEET_COLUMNS` is what the readers (``vmbackup.data``) and the
models that take a fleet (capacity, restore, fleet) check at their boundary, with
:func:`vmbackup._checks.check_frame`.

Optional columns (absent or blank: what the model assumes instead, see ``fleet_plan``):

- ``schedule_hour``: a start-time override [h in the policy's time zone]; blank: the policy's
  run time (S1);
- ``policy``: blank means the VM is not protected;
- ``churn_gb_per_day``: the VM's measured data changed per day [GB]; blank: its churn class;
- ``throughput_mb_s_per_disk``: the VM's measured incremental rate per disk [MB/s]; blank: the
  model's default (``vmbackup.transfer.DEFAULTS``, 7 MB/s);
- ``vm_id``: the VM's ARM resource id (matches protected items, ``assign_protection``);
- ``protection_state``: what Azure reports for the VM's backup item (or ``NotProtected``);
- ``first_backup_done``: False while the first backup is still to come (S12, S23);
- ``used_gb_assumed``: True where ``used_gb`` fills a gap (ARM does not report used data);
- ``power_state``: ``running``, ``stopped`` or ``deallocated`` as Azure last reported the VM
  (:data:`POWER_STATES`); blank: not reported. Read and checked, not yet used by the plan.
- ``weekly_churn_fraction``, ``monthly_churn_fraction``, ``yearly_churn_fraction``: churn per
  point kind (P6), the share of the used data changed (distinct) over a week, a 31-day month
  and a year, in [0, 1]; blank: the overlap model's curve (A32,
  ``vmbackup.retention.PeriodChurn``).

Sizes are in GB (10^9 bytes). Azure's JSON gives disk sizes (``diskSizeGB``) in GiB (2^30 bytes;
a P30 disk is 1,024 GiB = 1,099.511627776 GB, G14): the readers convert them with
:data:`GB_PER_GIB`.
"""

from __future__ import annotations

from vmbackup._checks import MIN_RATE, Column

__all__ = [
    "FLEET_COLUMNS",
    "FLEET_VALUES",
    "GB_PER_GIB",
    "MAX_DATA_DISKS",
    "POWER_STATES",
    "PROTECTION_STATES",
    "fleet_columns",
]

#: G14: GB (10^9 bytes) in one GiB (2^30 bytes): a size Azure gives in GiB times this is in GB.
GB_PER_GIB = 2**30 / 1e9
#: X1: a VM has at most 32 data disks.
MAX_DATA_DISKS = 32
#: The ``protectionState`` values of an Azure VM backup item (REST ``ProtectionState``, the same in
#: every api-version from 2016-12-01 to 2024-04-01), and ``NotProtected`` for a VM with no item.
PROTECTION_STATES = (
    "Invalid",
    "IRPending",
    "Protected",
    "ProtectionError",
    "ProtectionStopped",
    "ProtectionPaused",
    "BackupsSuspended",
    "NotProtected",
)
#: A VM's power state as the fleet holds it. Azure's six states (``PowerState/<state>``, shown as
#: ``VM <state>``; "Virtual machines lifecycle and states", states-lifecycle.md) fold into three:
#: a transitional state counts as the one it ends in (starting -> running, stopping -> stopped,
#: deallocating -> deallocated).
POWER_STATES = ("running", "stopped", "deallocated")
#: Allowed values of the fleet's vocabulary columns.
FLEET_VALUES: dict[str, tuple[str, ...]] = {
    "os": ("windows", "linux"),
    "churn_class": ("low", "moderate", "high"),
    "disk_role": ("os", "data", "temp"),
    "disk_type": ("premium", "standard", "local"),
    "power_state": POWER_STATES,
}
#: What each fleet column must hold.
FLEET_COLUMNS: dict[str, Column] = {
    "vm_name": Column("str"),
    "os": Column("str", allowed=FLEET_VALUES["os"]),
    "vm_size": Column("str"),
    "cores": Column("int", low=1),
    "memory_gb": Column("float", low=0),
    "policy": Column("str", nullable=True),
    "schedule_hour": Column("float", low=0, high=24, high_open=True, required=False, nullable=True),
    "churn_class": Column("str", allowed=FLEET_VALUES["churn_class"]),
    "disk_name": Column("str"),
    "disk_role": Column("str", allowed=FLEET_VALUES["disk_role"]),
    "disk_type": Column("str", allowed=FLEET_VALUES["disk_type"]),
    "managed": Column("bool"),
    "storage_account": Column("str", nullable=True),
    "allocated_gb": Column("float", low=0),
    "used_gb": Column("float", low=0),
    "churn_gb_per_day": Column("float", low=0, required=False, nullable=True),
    "throughput_mb_s_per_disk": Column("float", low=MIN_RATE, required=False, nullable=True),
    "vm_id": Column("str", required=False, nullable=True),
    "protection_state": Column("str", allowed=PROTECTION_STATES, required=False, nullable=True),
    "first_backup_done": Column("bool", required=False, nullable=True),
    "used_gb_assumed": Column("bool", required=False, nullable=True),
    "power_state": Column("str", allowed=POWER_STATES, required=False, nullable=True),
    "weekly_churn_fraction": Column("float", low=0, high=1, required=False, nullable=True),
    "monthly_churn_fraction": Column("float", low=0, high=1, required=False, nullable=True),
    "yearly_churn_fraction": Column("float", low=0, high=1, required=False, nullable=True),
}


def fleet_columns(*names: str) -> dict[str, Column]:
    """The specs of some fleet columns (what a model that reads only those needs)."""
    return {name: FLEET_COLUMNS[name] for name in names}
