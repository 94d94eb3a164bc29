"""A real estate from Azure's own JSON: ``az vm list -d`` and ``az disk list`` mapped to the
fleet schema (one row per disk; see ``datasets/README.md``).

The caller parses the files (``vmbackup.data.read_azure_estate``); this module maps them.

Sizes: Azure gives a disk's provisioned size as ``diskSizeGB`` (``az disk list``, and the
``storageProfile`` disks of ``az vm list -d``) in GiB (2^30 bytes), whatever its name says: a
P30 disk is 1,024 GiB (G14, the managed disk size tiers). The fleet's ``allocated_gb`` is in GB
(10^9 bytes), so each size is converted (1,024 GiB -> 1,099.511627776 GB,
:data:`vmbackup.schema.GB_PER_GIB`); messages that print a size read from Azure give both units
(``1024 GiB (1099.5 GB)``).

Power state: ``az vm list -d`` prints each VM's ``powerState`` (``VM running``, ``VM stopped``,
``VM deallocated``, or the transitional ``VM starting``, ``VM stopping``, ``VM deallocating``);
ARM with the instance view gives it as a status code (``properties.instanceView.statuses[].code``
``PowerState/deallocated``). It becomes the fleet's ``power_state``: ``running``, ``stopped`` or
``deallocated``, a transitional state counted as the one it ends in (states-lifecycle.md,
"Virtual machines lifecycle and states"); null where the JSON has none, or says ``unknown``.

What ARM does not say, and what is assumed instead (each can be changed in the table after,
and :func:`apply_used_sizes`, :func:`apply_vm_settings` and :func:`assign_protection` replace
them with what the architect measured or Azure reports):

- **used data**: ARM reports a disk's provisioned size, not the data on it, so
  ``used_gb = allocated_gb x used_fraction`` (default 0.5, the share Microsoft itself takes for
  the used size of an agentless VM's protected instance: G1,
  backup-azure-vms-agentless-multi-disk-crash-consistent-overview.md, ms.date 2025-07-25), and
  ``used_gb_assumed`` is True. Such a size is good enough for a bill's order of magnitude but
  decides nothing about S21 (a premium VM "at 50%" is exactly at the limit): the plan treats
  S21 on assumed sizes as unknown until measured sizes are given (:func:`apply_used_sizes`);
- **temporary disk**: not listed by ARM, and never backed up: omitted;
- **cores**: read from the size name (``Standard_D4s_v5`` -> 4), 1 when the name has no
  number; ``memory_gb`` is 0 (unknown);
- **unmanaged disks**: their storage account is read from the VHD URI; their type is taken as
  ``standard``; managed disks take their type from the disk's SKU (``Premium_*`` -> premium);
- **policy, churn class**: the same for every VM, given by the caller, until the backup items
  (:func:`protected_items`, :func:`assign_protection`) or the VM settings say otherwise; the
  **start time** is the policy's (``schedule_hour`` blank, S1) unless the caller overrides it.

Backup items (``az backup item list``, REST ``protectedItems``, an ``AzureIaaSComputeVMProtected
Item`` per VM) give each VM's policy (``properties.policyId``, a path ending in the policy
name), ``protectionState`` and ``lastBackupTime``. The shapes follow Azure/azure-rest-api-specs
(``recoveryservicesbackup`` stable 2024-04-01, ``examples/AzureIaasVm/
ProtectedItemOperationResults.json``) and the REST walk-through
backup-azure-arm-userestapi-backupazurevms.md (ms.date 2018-08-03), whose newly protected item is
``IRPending`` with ``lastBackupTime`` ``2001-01-01T00:00:00Z``: a placeholder, not a backup.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import polars as pl

from vmbackup._checks import MIN_RATE, Column, check_frame, choice, non_negative
from vmbackup.schema import FLEET_VALUES, GB_PER_GIB, PROTECTION_STATES

__all__ = [
    "SCHEDULED_STATES",
    "apply_used_sizes",
    "apply_vm_settings",
    "assign_protection",
    "estate_disks",
    "estate_to_fleet",
    "protected_items",
    "size_text",
]

#: Protection states under which the policy's scheduled backups run: ``IRPending`` (enabled,
#: first backup to come), ``Protected`` and ``ProtectionError`` (backing up, with errors). The
#: others (stopped, paused, suspended, invalid) take no scheduled backup, though data kept in
#: the vault is still billed (S24).
SCHEDULED_STATES = ("IRPending", "Protected", "ProtectionError")
#: A ``lastBackupTime`` before this instant is Azure's placeholder for "no backup yet".
NO_BACKUP_BEFORE = dt.datetime(2002, 1, 1, tzinfo=dt.UTC)


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
            if any(c in value for c in candidates):  # present as null: not missing
                raise ValueError(f"{where}: field {'.'.join(walked)} is null; a value is needed")
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


def _azure_resources(document: Any, label: str) -> list[Any]:
    """The resources of a VM or disk document, each flattened as ``az vm list -d`` prints it.

    Accepted shapes, told apart by content: a JSON list (``az vm list -d``, ``az disk list``,
    ``az rest`` pages), a REST list response (``{"value": [...], "nextLink": ...}``),
    ``az graph query`` output (``{"data": [...], "count": ...}``), a REST API example file (its
    ``responses.200.body``) or one resource. A resource
    whose fields sit under ``properties`` (ARM, ``az rest``, Azure Resource Graph) is flattened:
    its ``properties`` are lifted to the top, where the resource's own fields (``id``, ``name``,
    ``sku``, ``location``) win. Resource Graph's power state
    (``properties.extended.instanceView.powerState.code``) is read by the power-state rules.

    >>> vm = {"name": "a", "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v5"}}}
    >>> _azure_resources({"value": [vm]}, "vms.json")[0]["hardwareProfile"]
    {'vmSize': 'Standard_D2s_v5'}
    """
    document = _example_body(document)
    if isinstance(document, Mapping):
        listed = next((k for k in ("value", "data") if isinstance(document.get(k), list)), None)
        if listed is not None:
            document = document[listed]
        elif isinstance(document.get("properties"), Mapping) or "storageProfile" in document:
            document = [document]
        else:
            keys = ", ".join(repr(k) for k in list(document)[:6])
            raise ValueError(
                f"{label}: expected a list of resources, a REST list ({{'value': [...]}}), "
                f"'az graph query' output ({{'data': [...]}}) or one resource; found an object "
                f"with keys {keys}"
            )
    if not isinstance(document, list):
        raise ValueError(
            f"{label}: expected a list of resources, a REST list or 'az graph query' output; "
            f"found {type(document).__name__}"
        )
    return [_flattened(resource) for resource in document]


def _example_body(document: Any) -> Any:
    """The response body of a REST API example file (``responses.200.body``), else the
    document itself."""
    if isinstance(document, Mapping) and isinstance(document.get("responses"), Mapping):
        body = document["responses"].get("200")
        if isinstance(body, Mapping) and "body" in body:
            return body["body"]
    return document


def _flattened(resource: Any) -> Any:
    if not isinstance(resource, Mapping) or not isinstance(resource.get("properties"), Mapping):
        return resource
    own = {k: v for k, v in resource.items() if k != "properties"}
    return {**resource["properties"], **own}


_SIZE_KEYS = ("diskSizeGB", "diskSizeGb")


def _size(node: Mapping[str, Any], where: str) -> float:
    """A disk's provisioned size [GB] from its ``diskSizeGB``, which Azure gives in GiB (G14)."""
    for key in _SIZE_KEYS:
        if node.get(key) is not None:
            return non_negative(f"{where}.{key}", node[key]) * GB_PER_GIB
    raise ValueError(f"{where}: missing field diskSizeGB (the disk's size in GiB)")


def size_text(size_gb: float) -> str:
    """A size read from Azure [GB] in both units: its GiB, as Azure gave it, and its GB (G14).

    >>> size_text(1024 * GB_PER_GIB)
    '1024 GiB (1099.5 GB)'
    >>> size_text(128.0)
    '119.21 GiB (128.0 GB)'
    """
    gib = f"{size_gb / GB_PER_GIB:.2f}".rstrip("0").rstrip(".")
    return f"{gib} GiB ({size_gb:.1f} GB)"


#: Azure's power states (``PowerState/<state>``, shown ``VM <state>``) -> the fleet's
#: ``power_state`` (a transitional state counts as the one it ends in); ``unknown`` -> null.
_POWER_STATES: dict[str, str | None] = {
    "running": "running",
    "starting": "running",
    "stopped": "stopped",
    "stopping": "stopped",
    "deallocated": "deallocated",
    "deallocating": "deallocated",
    "unknown": None,
}


def _power_value(value: Any, field: str, where: str) -> str | None:
    """The fleet's power state from ``VM running`` or ``PowerState/running`` (any case)."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text == "":
        return None
    for prefix in ("powerstate/", "vm "):
        if text is not None and text.startswith(prefix):
            text = text[len(prefix) :].strip()
    if text is None or text not in _POWER_STATES:
        raise ValueError(
            f"{where}: {field}={value!r:.60} is not a VM power state; expected 'VM running', "
            "'VM stopped' or 'VM deallocated' (or 'VM starting', 'VM stopping', "
            "'VM deallocating'; 'PowerState/<state>' in an instance view)"
        )
    return _POWER_STATES[text]


def _power_state(vm: Mapping[str, Any], where: str) -> str | None:
    """A VM's power state: ``powerState`` (``az vm list -d``), else the ``PowerState/`` status
    code of its instance view (``instanceView`` or ``properties.instanceView``); None if none."""
    if vm.get("powerState") is not None:
        return _power_value(vm["powerState"], "powerState", where)
    extended = _sub(vm, "extended", where)  # Azure Resource Graph
    code = _sub(_sub(extended, "instanceView", where), "powerState", where).get("code")
    if code is not None:
        return _power_value(code, "properties.extended.instanceView.powerState.code", where)
    view_path = "instanceView"
    view = vm.get("instanceView")
    if view is None:
        view_path = "properties.instanceView"
        view = _sub(vm, "properties", where).get("instanceView")
    if view is None:
        return None
    view = _object(view, f"{where} {view_path}")
    statuses = _optional_list(view, "statuses", f"{where} {view_path}")
    found: list[tuple[str, Any]] = []
    for number, status in enumerate(statuses):
        code = _object(status, f"{where} {view_path}.statuses[{number}]").get("code")
        if isinstance(code, str) and code.strip().lower().startswith("powerstate/"):
            found.append((f"{view_path}.statuses[{number}].code", code))
    states = {_power_value(code, field, where) for field, code in found}
    if len(states) > 1:
        codes = ", ".join(repr(code) for _, code in found)
        raise ValueError(f"{where}: {view_path}.statuses holds two power states ({codes})")
    return states.pop() if states else None


def estate_to_fleet(
    vms: Any,
    disks: Any = (),
    *,
    used_fraction: float = 0.5,
    schedule_hour: float | None = None,
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
        Share of each disk's provisioned size taken as used data (assumption, see module);
        ``used_gb_assumed`` is True on every disk.
    schedule_hour
        A start-time override for every VM [h in the policy's time zone]; None (default): each
        VM runs at its policy's time (S1).
    policy, churn_class
        Given to every VM (until backup items or VM settings say otherwise).

    Returns
    -------
    polars.DataFrame
        The fleet schema (``vmbackup.schema.FLEET_COLUMNS``), one row per disk: ``allocated_gb``
        [GB] is Azure's ``diskSizeGB`` [GiB] converted (x 2^30 / 10^9, G14), ``used_gb`` [GB]
        its ``used_fraction`` (at most ``allocated_gb``); ``power_state`` is ``running``,
        ``stopped``, ``deallocated`` or null (see the module notes).

    Raises
    ------
    ValueError
        A missing field (named with the VM's position and name), a managed disk not found in
        ``disks``, a power state that is not one of Azure's, or a bad parameter.
    """
    vms = _azure_resources(vms, "az vm list")
    disks = _azure_resources(list(disks) if isinstance(disks, tuple) else disks, "az disk list")
    share = non_negative("used_fraction", used_fraction)
    if share > 1:
        raise ValueError(f"used_fraction={used_fraction!r} must be between 0 and 1")
    churn_class = choice("churn_class", churn_class, ("low", "moderate", "high"))
    hour = None if schedule_hour is None else non_negative("schedule_hour", schedule_hour)
    if hour is not None and hour >= 24:
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
        vm_id = vm.get("id") if isinstance(vm, Mapping) else None
        vm_row = {
            "vm_name": name,
            "vm_id": str(vm_id).lower() if vm_id else None,
            "os": os_name,
            "vm_size": size_name,
            "cores": int(cores.group(1)) if cores else 1,
            "memory_gb": 0.0,
            "policy": policy,
            "schedule_hour": hour,
            "churn_class": churn_class,
            "power_state": _power_state(_object(vm, where), where),
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
                    # rounded for display, never above the disk's size (a 127 GiB disk is
                    # 136.365211648 GB: a share of 1 must not round up to 136.4 GB)
                    "used_gb": min(round(allocated * share, 1), allocated),
                    "used_gb_assumed": True,
                }
            )
    if not rows:
        raise ValueError("az vm list: the list holds no virtual machine")
    return pl.DataFrame(
        rows,
        schema_overrides={
            "schedule_hour": pl.Float64,
            "vm_id": pl.String,
            "power_state": pl.String,
        },
    )


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
    accelerator, whether it is managed, and its provisioned size (``diskSizeGB``, in GiB: G14).

    Returns
    -------
    polars.DataFrame
        ``vm_name``, ``security_type``, ``disk_name``, ``disk_role`` (``os``/``data``),
        ``disk_sku``, ``managed``, ``shared``, ``ephemeral``, ``write_accelerated``,
        ``allocated_gb`` [GB] (the ``diskSizeGB`` [GiB] of the disk list, else of the VM's view
        of the disk, x 2^30 / 10^9; 0 where neither gives one).
    """
    vms = _azure_resources(vms, "az vm list")
    disks = _azure_resources(list(disks) if isinstance(disks, tuple) else disks, "az disk list")
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
            size = next(
                (n[k] for n in (resource, disk) for k in _SIZE_KEYS if n.get(k) is not None), 0
            )
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
                    "allocated_gb": non_negative(f"{label} diskSizeGB", size or 0) * GB_PER_GIB,
                }
            )
    if not rows:
        raise ValueError("az vm list: the list holds no virtual machine")
    return pl.DataFrame(rows)


_VM_ITEM_TYPES = ("Microsoft.Compute/virtualMachines", "Microsoft.ClassicCompute/virtualMachines")
_ITEM_COLUMNS: dict[str, pl.DataType] = {
    "item": pl.String(),
    "vm_name": pl.String(),
    "vm_id": pl.String(),
    "policy": pl.String(),
    "policy_id": pl.String(),
    "protection_state": pl.String(),
    "last_backup_time": pl.Datetime("us", "UTC"),
    "first_backup_done": pl.Boolean(),
}


def _timestamp(value: Any, where: str) -> dt.datetime | None:
    """An ISO 8601 time as Azure writes it (``2018-01-22T12:25:32.048723Z``), in UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(
            f"{where}={value!r:.40} must be an ISO 8601 time like 2026-01-31T22:30:00Z"
        )
    text = value.strip().replace("Z", "+00:00")
    whole, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 digits of fractions; Azure may write 7
        digits = re.match(r"\d*", rest)
        fraction = digits.group(0) if digits else ""
        text = f"{whole}.{fraction[:6].ljust(6, '0')}{rest[len(fraction) :]}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{where}={value!r} must be an ISO 8601 time like 2026-01-31T22:30:00Z"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def protected_items(document: Any, label: str = "items") -> pl.DataFrame:
    """The VM backup items of a vault, from the JSON ``az backup item list`` prints (a list), a
    REST ``protectedItems`` list (``{"value": [...]}``), ``az graph query`` output
    (``{"data": [...]}``), a REST API example file (its ``responses.200.body``) or one item
    (see the module notes).

    Items of other workloads (SQL in a VM, file shares) are skipped. Messages name the JSON path
    of the bad field (``items.json: [2].properties.protectionState='Bogus' is not allowed``).

    Returns
    -------
    polars.DataFrame
        One row per VM item: ``item`` (its JSON path), ``vm_name`` (``friendlyName``),
        ``vm_id`` (``virtualMachineId`` or ``sourceResourceId``, lower case; null if absent),
        ``policy`` (the last segment of ``policyId``, or ``policyName``), ``policy_id``,
        ``protection_state``, ``last_backup_time`` (UTC; null before the first backup) and
        ``first_backup_done``.
    """
    document = _example_body(document)
    listed = next(
        (
            k
            for k in ("value", "data")
            if isinstance(document, Mapping) and isinstance(document.get(k), list)
        ),
        None,
    )
    if listed is not None:
        items, base = document[listed], listed
    elif isinstance(document, list):
        items, base = document, ""
    elif isinstance(document, Mapping) and "properties" in document:
        items, base = [document], None
    else:
        raise ValueError(
            f"{label}: expected the JSON of 'az backup item list' (a list of items), a REST "
            "protectedItems list ({'value': [...]}) or one item ({'properties': {...}})"
        )
    rows = []
    seen: dict[str, str] = {}
    states = PROTECTION_STATES[:-1]  # NotProtected is the project's word for "no item"
    for number, item in enumerate(items):
        where = f"{label}: " + (f"{base}[{number}]" if base is not None else "item")
        node = _object(item, where)
        props = node.get("properties")
        if not isinstance(props, Mapping):
            raise ValueError(f"{where}.properties: missing, or not an object")
        at = f"{where}.properties"
        kind = props.get("protectedItemType")
        workload = props.get("workloadType")
        if (kind is not None and kind not in _VM_ITEM_TYPES) or workload not in (None, "VM"):
            continue  # not a VM item
        name = props.get("friendlyName")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{at}.friendlyName={name!r:.40}: each VM item names its VM")
        vm_id = props.get("virtualMachineId") or props.get("sourceResourceId")
        if vm_id is not None and not isinstance(vm_id, str):
            raise ValueError(f"{at}.virtualMachineId={vm_id!r:.40} must be an ARM resource id")
        state = choice(f"{at}.protectionState", props.get("protectionState"), states)
        policy_id = props.get("policyId") or None
        if policy_id is not None and not isinstance(policy_id, str):
            raise ValueError(f"{at}.policyId={policy_id!r:.40} must be a policy's resource id")
        named = props.get("policyName")
        if named is not None and not isinstance(named, str):
            raise ValueError(f"{at}.policyName={named!r:.40} must be a policy name")
        policy = (named or "").strip() or (
            policy_id.rstrip("/").rsplit("/", 1)[-1] if policy_id else None
        )
        if policy_id and "/backuppolicies/" not in policy_id.lower():
            raise ValueError(
                f"{at}.policyId={policy_id!r}: expected .../vaults/<vault>/backupPolicies/<name>"
            )
        if state in SCHEDULED_STATES and not policy:
            raise ValueError(
                f"{at}.policyId: missing; an item in state {state!r} is backed up by a policy"
            )
        last = _timestamp(props.get("lastBackupTime"), f"{at}.lastBackupTime")
        if last is not None and last < NO_BACKUP_BEFORE:
            last = None  # Azure's placeholder before the first backup
        key = (vm_id or "").lower() or f"name:{name.strip().lower()}"
        if key in seen:
            raise ValueError(f"{where}: a second item for VM {name!r} (the first is {seen[key]})")
        seen[key] = where
        rows.append(
            {
                "item": where,
                "vm_name": name.strip(),
                "vm_id": vm_id.lower() if vm_id else None,
                "policy": policy,
                "policy_id": policy_id,
                "protection_state": state,
                "last_backup_time": last,
                "first_backup_done": state != "IRPending" and last is not None,
            }
        )
    return pl.DataFrame(rows, schema=_ITEM_COLUMNS)


def assign_protection(
    fleet: pl.DataFrame, items: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each VM's policy and protection from its backup item (:func:`protected_items`).

    A VM is matched to its item by ARM id where both have one, else by name (case-insensitive).
    A VM whose item is ``IRPending``, ``Protected`` or ``ProtectionError`` follows the item's
    policy (``first_backup_done`` False while its first backup is to come); any other VM is not
    protected: its ``policy`` is blank (the plan lists it) and ``protection_state`` says why
    (``NotProtected`` without an item).

    Returns
    -------
    (fleet, unmatched)
        The fleet with ``policy``, ``protection_state`` and ``first_backup_done`` set, and the
        items that match no VM of the fleet.
    """
    vms = fleet.select(
        "vm_name",
        (pl.col("vm_id").str.to_lowercase() if "vm_id" in fleet.columns else pl.lit(None))
        .cast(pl.String)
        .alias("vm_id"),
    ).unique("vm_name", maintain_order=True)
    found = items.select(
        "item", "vm_name", "vm_id", "policy", "protection_state", "first_backup_done"
    )
    by_id = vms.filter(pl.col("vm_id").is_not_null()).join(
        found.filter(pl.col("vm_id").is_not_null()).drop("vm_name"), on="vm_id", how="inner"
    )
    rest_vms = vms.filter(~pl.col("vm_name").is_in(by_id["vm_name"].implode()))
    rest_items = found.filter(~pl.col("item").is_in(by_id["item"].implode()))
    by_name = (
        rest_vms.with_columns(key=pl.col("vm_name").str.to_lowercase())
        .join(
            rest_items.with_columns(key=pl.col("vm_name").str.to_lowercase()).rename(
                {"vm_id": "item_vm_id", "vm_name": "item_vm_name"}
            ),
            on="key",
            how="inner",
        )
        .filter(pl.col("vm_id").is_null() | pl.col("item_vm_id").is_null())
        .select(by_id.columns)
    )
    matched = pl.concat([by_id, by_name]).drop("vm_id")
    scheduled = pl.col("protection_state").is_in(list(SCHEDULED_STATES))
    keep = [
        c for c in fleet.columns if c not in ("policy", "protection_state", "first_backup_done")
    ]
    assigned = (
        fleet.select(keep)
        .join(matched.drop("item"), on="vm_name", how="left")
        .with_columns(
            policy=pl.when(scheduled).then(pl.col("policy")),
            protection_state=pl.col("protection_state").fill_null("NotProtected"),
            first_backup_done=pl.when(scheduled).then(pl.col("first_backup_done")),
        )
        .select(
            [
                *fleet.columns,
                *[c for c in ("protection_state", "first_backup_done") if c not in fleet.columns],
            ]
        )
    )
    unmatched = items.filter(~pl.col("item").is_in(matched["item"].implode()))
    return assigned, unmatched


#: What a table of measured used sizes holds (one row per disk).
USED_SIZE_COLUMNS: dict[str, Column] = {
    "vm_name": Column("str", required=False),
    "disk_name": Column("str"),
    "used_gb": Column("float", low=0),
}


def apply_used_sizes(
    fleet: pl.DataFrame, sizes: pl.DataFrame, label: str = "used sizes"
) -> pl.DataFrame:
    """Replace assumed used sizes with measured ones (``disk_name``, ``used_gb`` [GB] and
    optionally ``vm_name`` per row), marking them ``used_gb_assumed`` False.

    A used size is compared with the fleet's ``allocated_gb`` [GB]: for a fleet read from Azure,
    ``diskSizeGB`` [GiB] converted (G14), so 1,024.6 GB used fits a 1,024 GiB (1,099.5 GB) disk.

    Raises
    ------
    ValueError
        A disk that is not in the fleet (or ambiguous without ``vm_name``), listed twice, or
        whose used size exceeds its allocated size, naming the row, the VM, the disk and both
        sizes with their units.
    """
    sizes = check_frame(sizes, USED_SIZE_COLUMNS, name=label, row_offset=2, label="disk_name")
    keys = ["vm_name", "disk_name"] if "vm_name" in sizes.columns else ["disk_name"]
    numbered = sizes.with_row_index("_row", offset=2)
    twice = numbered.filter(~pl.struct(keys).is_first_distinct())
    if twice.height:
        row = twice.row(0, named=True)
        which = ", ".join(f"{key}={row[key]!r}" for key in keys)
        raise ValueError(f"{label}: row {row['_row']}: {which} is listed twice")
    disks = fleet.filter(pl.col("disk_role") != "temp").select(
        "vm_name", "disk_name", "allocated_gb"
    )
    if keys == ["disk_name"]:
        shared = disks.filter(pl.col("disk_name").is_duplicated())
        if shared.height:
            raise ValueError(
                f"{label}: disk_name={shared['disk_name'][0]!r} belongs to several VMs; add a "
                "vm_name column"
            )
    joined = numbered.join(disks, on=keys, how="left")
    unknown = joined.filter(pl.col("allocated_gb").is_null())
    if unknown.height:
        row = unknown.row(0, named=True)
        which = ", ".join(f"{key}={row[key]!r}" for key in keys)
        raise ValueError(
            f"{label}: row {row['_row']}: {which} is not a disk of the estate (temporary disks "
            "are never backed up)"
        )
    full = joined.filter(pl.col("used_gb") > pl.col("allocated_gb"))
    if full.height:
        row = full.row(0, named=True)
        raise ValueError(
            f"{label}: row {row['_row']}: vm_name={row['vm_name']!r}, "
            f"disk_name={row['disk_name']!r}: used_gb={row['used_gb']} GB exceeds the disk's "
            f"allocated size, {size_text(row['allocated_gb'])}"
        )
    measured = sizes.select(*keys, measured_gb="used_gb")
    flag = pl.col("used_gb_assumed") if "used_gb_assumed" in fleet.columns else pl.lit(None)
    return (
        fleet.join(measured, on=keys, how="left")
        .with_columns(
            used_gb=pl.coalesce("measured_gb", "used_gb"),
            used_gb_assumed=pl.when(pl.col("measured_gb").is_not_null())
            .then(False)
            .otherwise(flag)
            .cast(pl.Boolean),
        )
        .drop("measured_gb")
    )


#: What a table of per-VM settings may hold besides ``vm_name`` (blank: unchanged).
VM_SETTING_COLUMNS: dict[str, Column] = {
    "vm_name": Column("str"),
    "churn_class": Column(
        "str", allowed=FLEET_VALUES["churn_class"], required=False, nullable=True
    ),
    "churn_gb_per_day": Column("float", low=0, required=False, nullable=True),
    "throughput_mb_s_per_disk": Column("float", low=MIN_RATE, required=False, nullable=True),
    "schedule_hour": Column("float", low=0, high=24, high_open=True, required=False, nullable=True),
}


def apply_vm_settings(
    fleet: pl.DataFrame, settings: pl.DataFrame, label: str = "VM settings"
) -> pl.DataFrame:
    """Per-VM inputs the architect controls, one row per VM: ``churn_class``,
    ``churn_gb_per_day``, ``throughput_mb_s_per_disk`` and ``schedule_hour`` (a start-time
    override in the policy's time zone); a blank cell leaves the fleet's value.

    Raises
    ------
    ValueError
        A VM that is not in the fleet or listed twice, or a bad value (naming the row).
    """
    settings = check_frame(settings, VM_SETTING_COLUMNS, name=label, row_offset=2, label="vm_name")
    numbered = settings.with_row_index("_row", offset=2)
    twice = numbered.filter(~pl.col("vm_name").is_first_distinct())
    if twice.height:
        row = twice.row(0, named=True)
        raise ValueError(f"{label}: row {row['_row']}: vm_name={row['vm_name']!r} is listed twice")
    unknown = numbered.filter(~pl.col("vm_name").is_in(fleet["vm_name"].implode()))
    if unknown.height:
        row = unknown.row(0, named=True)
        raise ValueError(
            f"{label}: row {row['_row']}: vm_name={row['vm_name']!r} is not a VM of the estate"
        )
    columns = [c for c in VM_SETTING_COLUMNS if c != "vm_name" and c in settings.columns]
    given = settings.select("vm_name", *[pl.col(c).alias(f"_set_{c}") for c in columns])
    result = fleet.join(given, on="vm_name", how="left")
    for column in columns:
        old = pl.col(column) if column in fleet.columns else pl.lit(None)
        result = result.with_columns(pl.coalesce(pl.col(f"_set_{column}"), old).alias(column)).drop(
            f"_set_{column}"
        )
    return result
