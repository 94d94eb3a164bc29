"""A real estate from Azure's own JSON: ``az vm list -d`` and ``az disk list`` mapped to the
fleet schema (one row per disk; see ``datasets/README.md``).

The caller parses the files (``vmbackup.data.read_azure_estate``); this module maps them.

What ARM does not say, and what is assumed instead (each can be changed in the table after):

- **used data**: ARM reports a disk's provisioned size, not the data on it, so
  ``used_gb = allocated_gb x used_fraction`` (default 0.5);
- **temporary disk**: not listed by ARM, and never backed up: omitted;
- **cores**: read from the size name (``Standard_D4s_v5`` -> 4), 1 when the name has no
  number; ``memory_gb`` is 0 (unknown);
- **unmanaged disks**: their storage account is read from the VHD URI; their type is taken as
  ``standard``; managed disks take their type from the disk's SKU (``Premium_*`` -> premium);
- **schedule, policy, churn class**: the same for every VM, given by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import polars as pl

from vmbackup._checks import choice, non_negative

__all__ = ["estate_disks", "estate_to_fleet"]


def _field(node: Any, path: str, where: str) -> Any:
    """Follow a dotted ``path`` in ``node``; ValueError naming the missing field."""
    value = node
    walked = []
    for key in path.split("."):
        walked.append(key)
        candidates = [key, key[:1].lower() + key[1:]]
        if key.endswith("GB"):
            candidates.append(key[:-2] + "Gb")
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: {'.'.join(walked[:-1])} is not an object")
        found = next((c for c in candidates if value.get(c) is not None), None)
        if found is None:
            raise ValueError(f"{where}: missing field {'.'.join(walked)}")
        value = value[found]
    return value


def _object(node: Any, where: str) -> Mapping[str, Any]:
    """``node`` if it is a JSON object; else ValueError naming where it is."""
    if not isinstance(node, Mapping):
        raise ValueError(f"{where}: {node!r:.40} is not an object")
    return node


def _optional_list(node: Mapping[str, Any], key: str, where: str) -> list[Any]:
    """The list at ``node[key]`` (empty when absent); ValueError if it is not a list."""
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where}: {key}={value!r:.40} is not a list")
    return value


def _sub(node: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """The object at ``node[key]`` (empty when absent); ValueError if it is not an object."""
    value = node.get(key)
    return {} if value is None else _object(value, f"{where} {key}")


def _size(node: Mapping[str, Any], where: str) -> float:
    for key in ("diskSizeGB", "diskSizeGb"):
        if node.get(key) is not None:
            return non_negative(f"{where}.{key}", node[key])
    raise ValueError(f"{where}: missing field diskSizeGB")


def estate_to_fleet(
    vms: Any,
    disks: Any = (),
    *,
    used_fraction: float = 0.5,
    schedule_hour: float = 22.5,
    policy: str = "DailyPolicy",
    churn_class: str = "moderate",
) -> pl.DataFrame:
    """Map ``az vm list -d`` output (and ``az disk list`` for managed disks) to a fleet table.

    Parameters
    ----------
    vms
        The parsed JSON list of VirtualMachine resources.
    disks
        The parsed JSON list of Disk resources; managed disks are looked up here by id.
    used_fraction
        Share of each disk's provisioned size taken as used data (assumption, see module).
    schedule_hour, policy, churn_class
        Given to every VM.

    Raises
    ------
    ValueError
        A missing field (named with the VM's position and name), a managed disk not found in
        ``disks``, or a bad parameter.
    """
    if not isinstance(vms, list):
        raise ValueError("az vm list: expected a JSON list of virtual machines")
    if not isinstance(disks, list | tuple):
        raise ValueError("az disk list: expected a JSON list of disks")
    share = non_negative("used_fraction", used_fraction)
    if share > 1:
        raise ValueError(f"used_fraction={used_fraction!r} must be between 0 and 1")
    churn_class = choice("churn_class", churn_class, ("low", "moderate", "high"))
    hour = non_negative("schedule_hour", schedule_hour)
    if hour >= 24:
        raise ValueError(f"schedule_hour={schedule_hour!r} must be in [0, 24)")
    if not isinstance(policy, str) or not policy.strip():
        raise ValueError(f"policy={policy!r} must be a policy name")
    by_id = {}
    for number, disk in enumerate(disks, 1):
        where = f"az disk list: disk {number}"
        by_id[str(_field(disk, "id", where)).lower()] = disk
    rows = []
    for number, vm in enumerate(vms, 1):
        where = f"az vm list: VM {number}"
        name = str(_field(vm, "name", where))
        where = f"{where} ({name!r})"
        size_name = str(_field(vm, "hardwareProfile.vmSize", where))
        os_disk = _field(vm, "storageProfile.osDisk", where)
        os_type = str(_field(os_disk, "osType", f"{where} storageProfile.osDisk")).lower()
        os_name = choice(f"{where} osType", os_type, ("windows", "linux"))
        cores = re.search(r"_[A-Za-z]+(\d+)", size_name)
        vm_row = {
            "vm_name": name,
            "os": os_name,
            "vm_size": size_name,
            "cores": int(cores.group(1)) if cores else 1,
            "memory_gb": 0.0,
            "policy": policy,
            "schedule_hour": hour,
            "churn_class": churn_class,
        }
        profile = _sub(_object(vm, where), "storageProfile", where)
        data_disks = _optional_list(profile, "dataDisks", f"{where} storageProfile")
        for role, disk in [("os", os_disk), *(("data", d) for d in data_disks)]:
            label = f"{where} {role} disk"
            disk = _object(disk, label)
            disk_name = str(_field(disk, "name", label))
            managed = disk.get("managedDisk")
            if managed:
                disk_id = str(_field(managed, "id", label)).lower()
                if disk_id not in by_id:
                    raise ValueError(
                        f"{label} {disk_name!r}: managed disk id not found in az disk list; pass "
                        "the disks of the same subscription"
                    )
                resource = by_id[disk_id]
                allocated = _size(resource, f"az disk list: {disk_name!r}")
                sku = str(_field(resource, "sku.name", f"az disk list: {disk_name!r}"))
                kind = "premium" if sku.lower().startswith("premium") else "standard"
                account = ""
            else:
                uri = str(_field(disk, "vhd.uri", label))
                account = (urlparse(uri).hostname or "").split(".")[0]
                if not account:
                    raise ValueError(f"{label} {disk_name!r}: vhd.uri={uri!r} names no account")
                allocated = _size(disk, label)
                kind = "standard"
            rows.append(
                vm_row
                | {
                    "disk_name": disk_name,
                    "disk_role": role,
                    "disk_type": kind,
                    "managed": bool(managed),
                    "storage_account": account,
                    "allocated_gb": allocated,
                    "used_gb": round(allocated * share, 1),
                }
            )
    if not rows:
        raise ValueError("az vm list: the list holds no virtual machine")
    return pl.DataFrame(rows)


def _shares(disk: Mapping[str, Any], where: str) -> int:
    shares = disk.get("maxShares")
    if shares is None:
        return 1
    if isinstance(shares, bool) or not isinstance(shares, int) or shares < 1:
        raise ValueError(f"{where}: maxShares={shares!r} must be a whole number >= 1")
    return shares


def estate_disks(vms: Any, disks: Any = ()) -> pl.DataFrame:
    """What decides a VM's eligibility for backup, one row per disk (G1, G8, G11, X1).

    Read from ``az vm list -d`` and ``az disk list`` JSON: the VM's ``securityProfile.
    securityType`` (``TrustedLaunch``, ``ConfidentialVM``, or ``standard`` when absent), each
    disk's SKU (``UltraSSD_LRS``, ``PremiumV2_LRS``, ...), whether it is shared (``maxShares``
    above 1), an ephemeral OS disk (``diffDiskSettings.option == "Local"``), write
    accelerator, whether it is managed, and its provisioned size.

    Returns
    -------
    polars.DataFrame
        ``vm_name``, ``security_type``, ``disk_name``, ``disk_role`` (``os``/``data``),
        ``disk_sku``, ``managed``, ``shared``, ``ephemeral``, ``write_accelerated``,
        ``allocated_gb``.
    """
    if not isinstance(vms, list):
        raise ValueError("az vm list: expected a JSON list of virtual machines")
    if not isinstance(disks, list | tuple):
        raise ValueError("az disk list: expected a JSON list of disks")
    by_id = {}
    for number, disk in enumerate(disks, 1):
        by_id[str(_field(disk, "id", f"az disk list: disk {number}")).lower()] = disk
    rows = []
    for number, vm in enumerate(vms, 1):
        where = f"az vm list: VM {number}"
        name = str(_field(vm, "name", where))
        security = _sub(vm, "securityProfile", where).get("securityType") or "Standard"
        os_disk = _field(vm, "storageProfile.osDisk", f"{where} ({name!r})")
        storage = _sub(vm, "storageProfile", where)
        data_disks = _optional_list(storage, "dataDisks", f"{where} storageProfile")
        for role, disk in [("os", os_disk), *(("data", d) for d in data_disks)]:
            label = f"{where} ({name!r}) {role} disk"
            disk = _object(disk, label)
            disk_name = str(_field(disk, "name", label))
            managed = disk.get("managedDisk")
            resource: Mapping[str, Any] = disk
            sku = "Standard_LRS"
            if managed:
                if not isinstance(managed, Mapping):
                    raise ValueError(f"{label}: managedDisk={managed!r:.40} is not an object")
                resource = by_id.get(str(_field(managed, "id", label)).lower(), {})
                if not isinstance(resource, Mapping):
                    raise ValueError(f"az disk list: the disk of {label} is not an object")
                sku = str(
                    _sub(resource, "sku", label).get("name")
                    or managed.get("storageAccountType")
                    or "Standard_LRS"
                )
            ephemeral = _sub(disk, "diffDiskSettings", label).get("option") == "Local"
            size = resource.get("diskSizeGB", resource.get("diskSizeGb", disk.get("diskSizeGb")))
            rows.append(
                {
                    "vm_name": name,
                    "security_type": str(security),
                    "disk_name": disk_name,
                    "disk_role": role,
                    "disk_sku": sku,
                    "managed": bool(managed),
                    "shared": _shares(resource, label) > 1,
                    "ephemeral": bool(ephemeral),
                    "write_accelerated": bool(disk.get("writeAcceleratorEnabled")),
                    "allocated_gb": non_negative(f"{label} diskSizeGB", size or 0),
                }
            )
    if not rows:
        raise ValueError("az vm list: the list holds no virtual machine")
    return pl.DataFrame(rows)
