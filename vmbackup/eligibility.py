"""Which VMs of an estate can be backed up, under which policy type, and why not (G1, G8, G11).

The rules, from Microsoft's support matrix and policy pages (each item in
``../shared/domain-facts.md``):

- confidential VMs cannot be protected (G8);
- Ultra and Premium SSD v2 disks need the Enhanced policy (G8);
- shared disks are not supported under Standard; Enhanced can exclude them and back up the
  rest of the VM (G11; backup-azure-vms-enhanced-policy.md, ms.date 2025-06-11);
- Trusted Launch VMs may use Standard (recent CLI, PowerShell and REST), but their snapshots are
  then billed like Enhanced ones: the first snapshot is full (G8);
- a VM has at most 32 data disks and a disk at most 32 TB (X1, the older support-matrix figure;
  the project keeps it for both policy types until a newer figure is verified, G11);
- agentless crash-consistent backup (G1) excludes Ultra, Premium SSD v2, ephemeral OS, shared
  and write-accelerated disks;
- unmanaged (classic) disks still back up but are deprecated (G8): a risk, not a refusal.

The input is :func:`vmbackup.inventory.estate_disks`' table (one row per disk).
"""

from __future__ import annotations

import polars as pl

from vmbackup.schema import MAX_DATA_DISKS

__all__ = ["MAX_DATA_DISKS", "MAX_DISK_GB", "vm_eligibility"]

#: X1: largest disk [GB] (32 TiB as the support matrix gives it).
MAX_DISK_GB = 32 * 1024

_NEEDS_ENHANCED = ("ultrassd_lrs", "premiumv2_lrs")


def _reasons(*pairs: tuple[pl.Expr, str]) -> pl.Expr:
    """A list column of the texts whose condition holds."""
    parts = [pl.when(cond).then(pl.lit(text)).otherwise(pl.lit(None)) for cond, text in pairs]
    return pl.concat_list(parts).list.drop_nulls()


def vm_eligibility(disks: pl.DataFrame) -> pl.DataFrame:
    """Per VM: whether it can be protected under Standard, Enhanced and agentless, and why not.

    Parameters
    ----------
    disks
        One row per disk, as :func:`vmbackup.inventory.estate_disks` returns.

    Returns
    -------
    polars.DataFrame
        One row per VM: ``vm_name``, ``standard_ok``, ``enhanced_ok``, ``agentless_ok``,
        ``needs_enhanced``, ``standard_snapshots_full`` (Trusted Launch: G8), ``risks`` and
        ``reasons`` (lists of texts naming the item).

    Examples
    --------
    >>> disks = pl.DataFrame({"vm_name": ["a", "a"], "security_type": ["TrustedLaunch"] * 2,
    ...     "disk_name": ["os", "d1"], "disk_role": ["os", "data"],
    ...     "disk_sku": ["Premium_LRS", "UltraSSD_LRS"], "managed": [True, True],
    ...     "shared": [False, False], "ephemeral": [False, False],
    ...     "write_accelerated": [False, False], "allocated_gb": [128.0, 1024.0]})
    >>> row = vm_eligibility(disks).row(0, named=True)
    >>> row["standard_ok"], row["enhanced_ok"], row["agentless_ok"]
    (False, True, False)
    >>> [reason[-4:] for reason in row["reasons"]]
    ['(G8)', '(G1)']
    """
    sku = pl.col("disk_sku").str.to_lowercase()
    per_vm = (
        disks.group_by("vm_name", maintain_order=True)
        .agg(
            confidential=(pl.col("security_type").str.to_lowercase() == "confidentialvm").any(),
            trusted=(pl.col("security_type").str.to_lowercase() == "trustedlaunch").any(),
            new_disk=sku.is_in(list(_NEEDS_ENHANCED)).any(),
            shared=pl.col("shared").any(),
            data_disks=(pl.col("disk_role") == "data").sum(),
            largest_gb=pl.col("allocated_gb").max(),
            agentless_blocked=(
                sku.is_in(list(_NEEDS_ENHANCED))
                | pl.col("shared")
                | pl.col("ephemeral")
                | pl.col("write_accelerated")
            ).any(),
            unmanaged=(~pl.col("managed")).any(),
        )
        .with_columns(
            too_big=(pl.col("data_disks") > MAX_DATA_DISKS) | (pl.col("largest_gb") > MAX_DISK_GB)
        )
    )
    never = pl.col("confidential") | pl.col("too_big")
    return per_vm.select(
        "vm_name",
        standard_ok=~never & ~pl.col("new_disk") & ~pl.col("shared"),
        enhanced_ok=~never,
        agentless_ok=~never & ~pl.col("agentless_blocked"),
        needs_enhanced=~never & (pl.col("new_disk") | pl.col("shared")),
        standard_snapshots_full=pl.col("trusted"),
        risks=_reasons(
            (pl.col("trusted"), "Trusted Launch under Standard: snapshots billed as Enhanced (G8)"),
            (pl.col("unmanaged"), "unmanaged (classic) disks are deprecated (G8)"),
            (
                pl.col("shared") & ~never,
                "shared disk: excluded from the backup under Enhanced (G11)",
            ),
        ),
        reasons=_reasons(
            (pl.col("confidential"), "confidential VMs cannot be backed up (G8)"),
            (
                pl.col("data_disks") > MAX_DATA_DISKS,
                f"more than {MAX_DATA_DISKS} data disks (X1)",
            ),
            (pl.col("largest_gb") > MAX_DISK_GB, "a disk larger than 32 TiB (X1)"),
            (pl.col("new_disk"), "Ultra / Premium SSD v2 disk needs the Enhanced policy (G8)"),
            (pl.col("shared"), "shared disks are not supported under Standard (G11)"),
            (
                pl.col("agentless_blocked"),
                "agentless excludes Ultra, Premium SSD v2, ephemeral OS, shared and "
                "write-accelerated disks (G1)",
            ),
        ),
    )
