"""Encrypted VMs (S30): what is backed up and who can recover it."""

from __future__ import annotations

import itertools

import pytest

from vmbackup.encryption import (
    ADE_OPTIONS,
    DISK_KINDS,
    PERMISSIONS,
    SSE_OPTIONS,
    encryption_outcome,
    encryption_table,
)

ALL = tuple(PERMISSIONS)


@pytest.mark.parametrize("sse", SSE_OPTIONS)
@pytest.mark.parametrize("disks", DISK_KINDS)
def test_s30_sse_alone_is_supported_on_managed_disks(sse: str, disks: str) -> None:
    """S30: SSE with platform keys (all disks) or customer keys (managed disks) is backed up."""
    outcome = encryption_outcome(sse=sse, disks=disks, permissions=ALL)
    assert outcome.supported == (sse == "platform-key" or disks == "managed")
    if outcome.supported:
        assert outcome.backed_up == ("disks",)
        assert outcome.can_recover_vm


@pytest.mark.parametrize("disks", DISK_KINDS)
def test_s30_ade_bek_only_and_bek_kek_on_managed_and_unmanaged_vms(disks: str) -> None:
    """S30: ADE with BEK only, or BEK+KEK, on managed and unmanaged VMs: keys backed up too."""
    assert encryption_outcome(ade="bek", disks=disks).backed_up == ("disks", "BEK")
    assert encryption_outcome(ade="bek-kek", disks=disks).backed_up == ("disks", "BEK", "KEK")


def test_s30_restoring_keys_needs_key_vault_permissions() -> None:
    """S30: only users with the needed permissions can restore keys and recover the VM."""
    vault_only = encryption_outcome(ade="bek-kek", permissions=["vault-restore"])
    assert not vault_only.can_restore_keys
    assert not vault_only.can_recover_vm
    secrets_only = encryption_outcome(
        ade="bek-kek", permissions=["vault-restore", "keyvault-restore-secrets"]
    )
    assert not secrets_only.can_restore_keys
    assert secrets_only.missing_permissions == ("keyvault-restore-keys",)
    full = encryption_outcome(
        ade="bek-kek",
        permissions=["vault-restore", "keyvault-restore-secrets", "keyvault-restore-keys"],
    )
    assert (full.can_restore_keys, full.can_recover_vm) == (True, True)


def test_s30_bek_only_needs_no_key_permission() -> None:
    """S30: with BEK only there is no KEK to restore."""
    o = encryption_outcome(ade="bek", permissions=["vault-restore", "keyvault-restore-secrets"])
    assert o.can_recover_vm


def test_s30_nobody_reads_backed_up_keys_without_restoring_them() -> None:
    """S30: backed-up BEKs and KEKs stay encrypted; the reason says so."""
    assert "no one can read them" in encryption_outcome(ade="bek").reasons[1]


def test_customer_keys_with_ade_cannot_exist_so_are_unsupported() -> None:
    """S30 with Microsoft's CMK restriction: ADE disks cannot use customer-managed SSE keys."""
    o = encryption_outcome(sse="customer-key", ade="bek", permissions=ALL)
    assert not o.supported
    assert not o.can_recover_vm
    assert "cannot use customer-managed" in o.reasons[0]


def test_customer_keys_need_the_disk_encryption_set_to_recover() -> None:
    o = encryption_outcome(sse="customer-key", permissions=["vault-restore"])
    assert o.missing_permissions == ("disk-encryption-set-use",)


@pytest.mark.parametrize(
    ("sse", "ade", "disks"), list(itertools.product(SSE_OPTIONS, ADE_OPTIONS, DISK_KINDS))
)
def test_more_permissions_never_take_recovery_away(sse: str, ade: str, disks: str) -> None:
    for size in range(len(ALL) + 1):
        for granted in itertools.combinations(ALL, size):
            fewer = encryption_outcome(sse=sse, ade=ade, disks=disks, permissions=granted)
            more = encryption_outcome(sse=sse, ade=ade, disks=disks, permissions=ALL)
            assert more.can_recover_vm or not fewer.can_recover_vm


def test_the_table_lists_every_combination() -> None:
    table = encryption_table()
    assert table.height == len(SSE_OPTIONS) * len(ADE_OPTIONS) * len(DISK_KINDS)
    assert table["supported"].sum() == 7


@pytest.mark.parametrize(
    ("argument", "value"),
    [("sse", "microsoft"), ("ade", "kek"), ("disks", "ssd"), ("permissions", ["root"])],
)
def test_bad_values_name_the_argument(argument: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}="):
        encryption_outcome(**{argument: value})  # type: ignore[arg-type]


def test_permissions_must_be_a_list_not_one_string() -> None:
    with pytest.raises(ValueError, match="must be a list"):
        encryption_outcome(permissions="vault-restore")
