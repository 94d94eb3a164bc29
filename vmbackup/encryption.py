"""Encrypted VMs: what a backup protects and who can bring the keys and the VM back (S30).

Both questions are answered from tables (:data:`BACKED_UP` and :data:`RESTORE_NEEDS`), not code
paths, and :func:`encryption_table` lists every combination.

Interpretations and assumptions:

- S30 supports SSE with platform- or customer-managed keys, and ADE with BEK only or BEK+KEK on
  managed and unmanaged VMs. Two combinations cannot exist on a disk at all, so they are marked
  unsupported (see :data:`UNSUPPORTED`): customer-managed SSE keys with ADE on a managed disk
  (Microsoft's restrictions for customer-managed keys: a managed disk that is or was encrypted
  with ADE cannot use them; "Server-side encryption of Azure Disk Storage" and "Use the Azure
  portal to enable server-side encryption with customer-managed keys for managed disks",
  learn.microsoft.com, accessed 2026-11-24), and customer-managed keys on unmanaged disks
  (assumption: those keys are set per managed disk through a disk encryption set; an unmanaged
  disk is encrypted by its storage account).
- The disks are always backed up; ADE adds the BEK (a key-vault secret), BEK+KEK adds the KEK
  (a key-vault key). Backed-up keys and secrets stay encrypted: nobody, Azure included, can read
  them until an authorised user restores them into a key vault.
- Permissions are named by what they allow, not by Azure role names: ``"vault-restore"`` (run a
  restore from the Recovery Services vault), ``"keyvault-restore-secrets"`` (BEKs back into the
  key vault), ``"keyvault-restore-keys"`` (KEKs back into the key vault). Assumption, beyond the
  seed: a VM whose disks use customer-managed SSE keys also needs ``"disk-encryption-set-use"``,
  access to the disk encryption set that holds the key, to recover the VM.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from vmbackup._checks import choice

__all__ = [
    "ADE_OPTIONS",
    "BACKED_UP",
    "DISK_KINDS",
    "PERMISSIONS",
    "RESTORE_NEEDS",
    "SSE_OPTIONS",
    "UNSUPPORTED",
    "EncryptionOutcome",
    "encryption_outcome",
    "encryption_table",
]

SSE_OPTIONS = ("platform-key", "customer-key")
ADE_OPTIONS = ("none", "bek", "bek-kek")
DISK_KINDS = ("managed", "unmanaged")
PERMISSIONS = (
    "vault-restore",
    "keyvault-restore-secrets",
    "keyvault-restore-keys",
    "disk-encryption-set-use",
)

#: What each ADE option adds to the backup, beside the disks (S30).
BACKED_UP: dict[str, tuple[str, ...]] = {
    "none": ("disks",),
    "bek": ("disks", "BEK"),
    "bek-kek": ("disks", "BEK", "KEK"),
}

#: Combinations that cannot be backed up because they cannot exist, with the reason.
UNSUPPORTED: dict[tuple[str, str, str], str] = {
    **{
        ("customer-key", ade, "managed"): (
            "a managed disk that is or was encrypted with ADE cannot use customer-managed SSE "
            "keys (Microsoft's customer-managed key restrictions)"
        )
        for ade in ("bek", "bek-kek")
    },
    **{
        ("customer-key", ade, "unmanaged"): (
            "assumption: customer-managed SSE keys are set per managed disk through a disk "
            "encryption set, which unmanaged disks do not have"
        )
        for ade in ADE_OPTIONS
    },
}

#: The permission a user needs to restore each backed-up item (S30; see the module notes).
RESTORE_NEEDS: dict[str, str] = {
    "disks": "vault-restore",
    "BEK": "keyvault-restore-secrets",
    "KEK": "keyvault-restore-keys",
    "customer-key": "disk-encryption-set-use",
}


@dataclass(frozen=True)
class EncryptionOutcome:
    """Whether an encrypted VM can be backed up and recovered by a given user.

    Attributes
    ----------
    supported
        Whether the combination can be backed up.
    backed_up
        What the recovery point holds: ``"disks"``, plus ``"BEK"`` and ``"KEK"`` under ADE.
    can_restore_keys
        Whether the user can restore every backed-up key and secret to the key vault (True when
        there is nothing to restore).
    can_recover_vm
        Whether the user can recover the VM (restore its disks and every key it needs).
    missing_permissions
        What the user lacks for a full recovery.
    reasons
        The rules applied, each starting with its item.
    """

    supported: bool
    backed_up: tuple[str, ...]
    can_restore_keys: bool
    can_recover_vm: bool
    missing_permissions: tuple[str, ...]
    reasons: tuple[str, ...]


def encryption_outcome(
    *,
    sse: str = "platform-key",
    ade: str = "none",
    disks: str = "managed",
    permissions: Iterable[str] = (),
) -> EncryptionOutcome:
    """What is backed up for an encrypted VM, and whether a user can restore keys and the VM.

    Parameters
    ----------
    sse
        Storage Service Encryption keys: ``"platform-key"`` (the default for every disk) or
        ``"customer-key"``.
    ade
        Azure Disk Encryption: ``"none"``, ``"bek"`` (BitLocker/DM-Crypt key only) or
        ``"bek-kek"`` (BEK wrapped by a key encryption key).
    disks
        ``"managed"`` or ``"unmanaged"``.
    permissions
        What the restoring user may do; any of :data:`PERMISSIONS`.

    Examples
    --------
    >>> o = encryption_outcome(ade="bek-kek", permissions=["vault-restore"])
    >>> o.backed_up, o.can_recover_vm, o.missing_permissions
    (('disks', 'BEK', 'KEK'), False, ('keyvault-restore-secrets', 'keyvault-restore-keys'))
    """
    sse = choice("sse", sse, SSE_OPTIONS)
    ade = choice("ade", ade, ADE_OPTIONS)
    disks = choice("disks", disks, DISK_KINDS)
    if isinstance(permissions, str | bytes | dict) or not isinstance(permissions, Iterable):
        raise ValueError(f"permissions={permissions!r:.60} must be a list of permission names")
    granted = {choice("permissions", p, PERMISSIONS) for p in permissions}
    if (sse, ade, disks) in UNSUPPORTED:
        return EncryptionOutcome(
            supported=False,
            backed_up=(),
            can_restore_keys=False,
            can_recover_vm=False,
            missing_permissions=(),
            reasons=(f"S30: not supported: {UNSUPPORTED[(sse, ade, disks)]}",),
        )
    backed_up = BACKED_UP[ade]
    key_items = [item for item in backed_up if item != "disks"]
    needed = [RESTORE_NEEDS[item] for item in backed_up]
    if sse == "customer-key":
        needed.append(RESTORE_NEEDS["customer-key"])
    missing = tuple(p for p in needed if p not in granted)
    can_restore_keys = all(RESTORE_NEEDS[item] in granted for item in key_items)
    reasons = [
        f"S30: {disks} disks with SSE ({sse}) are supported and encrypted at rest in the vault",
    ]
    if ade != "none":
        reasons.append(
            f"S30: Azure Disk Encryption with {ade.upper().replace('-', '+')}: the "
            f"{' and '.join(key_items)} are backed up, encrypted; no one can read them, Azure "
            "included, until an authorised user restores them to a key vault"
        )
    if missing:
        reasons.append(f"S30: recovering this VM needs {', '.join(missing)}, which the user lacks")
    else:
        reasons.append("S30: the user holds every permission needed to recover this VM")
    return EncryptionOutcome(
        supported=True,
        backed_up=backed_up,
        can_restore_keys=can_restore_keys,
        can_recover_vm=not missing,
        missing_permissions=missing,
        reasons=tuple(reasons),
    )


def encryption_table() -> pl.DataFrame:
    """Every SSE x ADE x disk kind combination: supported, what is backed up, what recovery needs.

    >>> encryption_table().height
    12
    """
    rows = []
    for sse, ade, disks in itertools.product(SSE_OPTIONS, ADE_OPTIONS, DISK_KINDS):
        outcome = encryption_outcome(sse=sse, ade=ade, disks=disks)
        rows.append(
            {
                "sse": sse,
                "ade": ade,
                "disks": disks,
                "supported": outcome.supported,
                "backed_up": ", ".join(outcome.backed_up),
                "recovery_needs": ", ".join(outcome.missing_permissions),
                "reason": outcome.reasons[-1],
            }
        )
    return pl.DataFrame(rows)
