"""The fleet table: its columns, their types, vocabularies and ranges (one place for all).

A fleet is one row per disk, a VM's columns repeated on each of its disks (see
``datasets/README.md``). :data:`FLEET_COLUMNS` is what the readers (``vmbackup.data``) and the
models that take a fleet (capacity, restore, fleet) check at their boundary, with
:func:`vmbackup._checks.check_frame`.
"""

from __future__ import annotations

from vmbackup._checks import Column

__all__ = ["FLEET_COLUMNS", "FLEET_VALUES", "MAX_DATA_DISKS", "fleet_columns"]

#: X1: a VM has at most 32 data disks.
MAX_DATA_DISKS = 32
#: Allowed values of the fleet's vocabulary columns.
FLEET_VALUES: dict[str, tuple[str, ...]] = {
    "os": ("windows", "linux"),
    "churn_class": ("low", "moderate", "high"),
    "disk_role": ("os", "data", "temp"),
    "disk_type": ("premium", "standard", "local"),
}
#: What each fleet column must hold.
FLEET_COLUMNS: dict[str, Column] = {
    "vm_name": Column("str"),
    "os": Column("str", allowed=FLEET_VALUES["os"]),
    "vm_size": Column("str"),
    "cores": Column("int", low=1),
    "memory_gb": Column("float", low=0),
    "policy": Column("str"),
    "schedule_hour": Column("float", low=0, high=24, high_open=True),
    "churn_class": Column("str", allowed=FLEET_VALUES["churn_class"]),
    "disk_name": Column("str"),
    "disk_role": Column("str", allowed=FLEET_VALUES["disk_role"]),
    "disk_type": Column("str", allowed=FLEET_VALUES["disk_type"]),
    "managed": Column("bool"),
    "storage_account": Column("str", nullable=True),
    "allocated_gb": Column("float", low=0),
    "used_gb": Column("float", low=0),
}


def fleet_columns(*names: str) -> dict[str, Column]:
    """The specs of some fleet columns (what a model that reads only those needs)."""
    return {name: FLEET_COLUMNS[name] for name in names}
