"""Which VMs of an estate can be backed up, under which policy type, and why not (G1, G8, G11).

The rules, from Microsoft's support matrix and policy pages (each item in
``../shared/domain-facts.md``):

- confidential VMs: backup is in preview only (G8.4), so the plan treats them as not protected;
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

:func:`scan_estate` adds, from the support matrix (``backup-support-matrix-iaas.md``,
ms.date 2023-07-05, "VM storage support" and "VM compute support"; G11):

- ephemeral (NVMe) OS disks are not supported, under any policy;
- a VM with unmanaged disks (or a classic VM) is supported up to 16 disks;
- a VM's disks may add up to 256 TB (taken as TiB, like the 32 TB of one disk);
- disks with data-access authentication fail (G11; the matrix: disks reached only through a
  private endpoint are not supported);
- a VM of fewer than 2 cores or less than 1 GB of memory is below the matrix's stated minimum: a
  risk (such VMs are backed up in practice), not a refusal.

The input of :func:`vm_eligibility` is :func:`vmbackup.inventory.estate_disks`' table (one row
per disk); :func:`scan_estate` also takes a fleet table (``datasets/README.md``), filling what it
lacks with the defaults of :data:`SCAN_DEFAULTS` (listed by :func:`scan_assumptions`).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from vmbackup._checks import Column, check_frame, instance
from vmbackup.policy import Policy
from vmbackup.schema import GB_PER_GIB, MAX_DATA_DISKS

__all__ = [
    "MAX_DATA_DISKS",
    "MAX_DISK_GB",
    "MAX_UNMANAGED_DATA_DISKS",
    "MAX_VM_GB",
    "SCAN_DEFAULTS",
    "TRUSTED_LAUNCH_RISK",
    "scan_assumptions",
    "scan_estate",
    "vm_eligibility",
]

#: X1: largest disk [GB]: 32 TiB (32,768 GiB) as the support matrix gives it, in GB (G14).
MAX_DISK_GB = 32 * 1024 * GB_PER_GIB
#: G8: what a Trusted Launch VM under a Standard policy costs, as the plan bills it.
TRUSTED_LAUNCH_RISK = (
    "Trusted Launch under a Standard policy: snapshots billed as Enhanced ones, the first one "
    "full, at the Standard HDD snapshot price (G8, G9)"
)
#: G11: a VM's disks together [GB] (256 TB in the support matrix, taken as TiB).
MAX_VM_GB = 256 * 1024 * GB_PER_GIB
#: G11: data disks of a VM with unmanaged disks, or a classic VM (support matrix: 16).
MAX_UNMANAGED_DATA_DISKS = 16
#: G11: the smallest VM the support matrix names (2 cores, 1 GB of memory).
MIN_CORES, MIN_MEMORY_GB = 2, 1.0

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
            (pl.col("trusted"), TRUSTED_LAUNCH_RISK),
            (pl.col("unmanaged"), "unmanaged (classic) disks are deprecated (G8)"),
            (
                pl.col("shared") & ~never,
                "shared disk: excluded from the backup under Enhanced (G11)",
            ),
        ),
        reasons=_reasons(
            (
                pl.col("confidential"),
                "confidential VM: backup is in preview only, not generally available (G8.4)",
            ),
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


#: What :func:`scan_estate` assumes of a column the table lacks (assumptions: a fleet CSV says
#: nothing of security type, SKU, sharing or data access), and in words for the report.
SCAN_DEFAULTS: dict[str, tuple[object, str]] = {
    "security_type": (
        "Standard",
        "security type not given: taken as Standard (not Trusted Launch, not confidential)",
    ),
    "disk_sku": (
        "Standard_LRS",
        "disk SKU not given: premium disks taken as Premium_LRS, "
        "others as Standard_LRS (no Ultra or Premium SSD v2)",
    ),
    "managed": (True, "managed disks assumed"),
    "shared": (False, "no shared disk assumed"),
    "ephemeral": (False, "no ephemeral OS disk assumed"),
    "write_accelerated": (False, "no write-accelerated disk assumed"),
    "data_access_auth": (False, "no disk with data-access authentication assumed"),
}

#: What each column of the scanned table must hold (optional ones take SCAN_DEFAULTS).
SCAN_COLUMNS: dict[str, Column] = {
    "vm_name": Column("str"),
    "disk_role": Column("str", allowed=("os", "data", "temp")),
    "allocated_gb": Column("float", low=0),
    "disk_type": Column("str", allowed=("premium", "standard", "local"), required=False),
    "security_type": Column("str", required=False),
    "disk_sku": Column("str", required=False),
    "managed": Column("bool", required=False),
    "shared": Column("bool", required=False),
    "ephemeral": Column("bool", required=False),
    "write_accelerated": Column("bool", required=False),
    "data_access_auth": Column("bool", required=False),
    "cores": Column("int", low=0, required=False),
    "memory_gb": Column("float", low=0, required=False),
    "policy": Column("str", required=False, nullable=True),
}


def scan_assumptions(disks: pl.DataFrame) -> tuple[str, ...]:
    """What :func:`scan_estate` assumes of ``disks``: one sentence per column it lacks."""
    table = instance("disks", disks, pl.DataFrame, "a polars DataFrame of disks")
    return tuple(text for column, (_v, text) in SCAN_DEFAULTS.items() if column not in table)


def _completed(disks: pl.DataFrame) -> pl.DataFrame:
    """The scanned table with every optional column, defaults filled in; temp disks dropped."""
    table = check_frame(disks, SCAN_COLUMNS, name="disks", label="vm_name")
    table = table.filter(pl.col("disk_role") != "temp")
    if table.height == 0:
        raise ValueError("disks: the table holds no OS or data disk to scan")
    fill = []
    for column, (value, _text) in SCAN_DEFAULTS.items():
        if column in table.columns:
            continue
        if column == "disk_sku" and "disk_type" in table.columns:
            fill.append(
                pl.when(pl.col("disk_type") == "premium")
                .then(pl.lit("Premium_LRS"))
                .otherwise(pl.lit("Standard_LRS"))
                .alias(column)
            )
        else:
            fill.append(pl.lit(value).alias(column))
    return table.with_columns(fill) if fill else table


def scan_estate(
    disks: pl.DataFrame, *, policies: Mapping[str, Policy] | None = None
) -> pl.DataFrame:
    """Per VM of an estate: can it be protected, under which policy type, and why not
    (G1, G8, G11, X1).

    Parameters
    ----------
    disks
        One row per disk: ``vm_name``, ``disk_role`` (``os``, ``data``; ``temp`` rows are
        ignored), ``allocated_gb`` [GB]; and any of ``security_type``, ``disk_sku``,
        ``managed``, ``shared``, ``ephemeral``, ``write_accelerated``, ``data_access_auth``,
        ``cores``, ``memory_gb``, ``policy`` (the VM's assigned policy name), ``disk_type``.
        :func:`vmbackup.inventory.estate_disks`' table and the fleet table both fit; what a
        table lacks takes :data:`SCAN_DEFAULTS` (:func:`scan_assumptions` says which).
    policies
        The policies named in ``policy``, to check each VM against the one it is assigned.

    Returns
    -------
    polars.DataFrame
        One row per VM, in order of appearance: ``vm_name``, ``protectable``, ``policy_type``
        (the simplest that protects it: ``standard``, ``enhanced``, or ``none``),
        ``standard_ok``, ``enhanced_ok``, ``agentless_ok``, ``assigned_policy``,
        ``assigned_type`` (``standard``, ``enhanced`` or ``agentless``), ``assigned_ok`` (null
        without a policy), ``reasons`` (why a policy type cannot protect it) and ``risks``
        (``"; "``-joined texts, each naming its item).

    Raises
    ------
    ValueError
        A missing or bad column (naming it, the row and the value); a policy the table names
        that ``policies`` lacks.

    Examples
    --------
    >>> disks = pl.DataFrame({"vm_name": ["a", "a", "b"], "disk_role": ["os", "data", "os"],
    ...     "allocated_gb": [128.0, 1024.0, 64.0],
    ...     "disk_sku": ["Premium_LRS", "UltraSSD_LRS", "Standard_LRS"]})
    >>> scan_estate(disks).select("vm_name", "protectable", "policy_type").rows()
    [('a', True, 'enhanced'), ('b', True, 'standard')]
    """
    table = _completed(disks)
    if policies is not None:
        if not isinstance(policies, Mapping):
            raise ValueError(
                f"policies must be a mapping of name to Policy, found {type(policies).__name__}"
            )
        for name, policy in policies.items():
            instance(f"policies[{name!r}]", policy, Policy, "a Policy")
    base = vm_eligibility(table)
    limits = table.group_by("vm_name", maintain_order=True).agg(
        ephemeral=pl.col("ephemeral").any(),
        auth=pl.col("data_access_auth").any(),
        unmanaged_wide=(~pl.col("managed")).any()
        & ((pl.col("disk_role") == "data").sum() > MAX_UNMANAGED_DATA_DISKS),
        total_gb=pl.col("allocated_gb").sum(),
        small=_small_vm(table),
        policy=pl.col("policy").first() if "policy" in table.columns else pl.lit(None),
    )
    refused = (
        pl.col("ephemeral")
        | pl.col("auth")
        | pl.col("unmanaged_wide")
        | (pl.col("total_gb") > MAX_VM_GB)
    )
    extra_reasons = _reasons(
        (pl.col("ephemeral"), "ephemeral (NVMe) OS disks are not supported (G11)"),
        (pl.col("auth"), "a disk with data-access authentication fails to back up (G11)"),
        (
            pl.col("unmanaged_wide"),
            f"unmanaged disks: at most {MAX_UNMANAGED_DATA_DISKS} data disks (G11)",
        ),
        (pl.col("total_gb") > MAX_VM_GB, "disks adding up to more than 256 TiB (G11)"),
    )
    extra_risks = _reasons(
        (
            pl.col("small"),
            f"below the support matrix's minimum of {MIN_CORES} cores and "
            f"{MIN_MEMORY_GB:g} GB of memory (G11)",
        )
    )
    scanned = base.join(limits, on="vm_name", how="left", maintain_order="left").with_columns(
        standard_ok=pl.col("standard_ok") & ~refused,
        enhanced_ok=pl.col("enhanced_ok") & ~refused,
        agentless_ok=pl.col("agentless_ok") & ~refused,
        reasons=pl.concat_list(extra_reasons, "reasons"),
        risks=pl.concat_list("risks", extra_risks),
    )
    scanned = scanned.with_columns(
        protectable=pl.col("enhanced_ok"),
        policy_type=pl.when(pl.col("standard_ok"))
        .then(pl.lit("standard"))
        .when(pl.col("enhanced_ok"))
        .then(pl.lit("enhanced"))
        .otherwise(pl.lit("none")),
    )
    scanned = _assigned(scanned, policies)
    return scanned.select(
        "vm_name",
        "protectable",
        "policy_type",
        "standard_ok",
        "enhanced_ok",
        "agentless_ok",
        "assigned_policy",
        "assigned_type",
        "assigned_ok",
        reasons=pl.col("reasons").list.join("; "),
        risks=pl.col("risks").list.join("; "),
    )


def _small_vm(table: pl.DataFrame) -> pl.Expr:
    """A VM below the support matrix's minimum size (G11); unknown sizes (0) are not judged."""
    small = pl.lit(False)
    if "cores" in table.columns:
        small = small | pl.col("cores").first().is_between(1, MIN_CORES - 1)
    if "memory_gb" in table.columns:
        memory = pl.col("memory_gb").first()
        small = small | ((memory > 0) & (memory < MIN_MEMORY_GB))
    return small


def _assigned(scanned: pl.DataFrame, policies: Mapping[str, Policy] | None) -> pl.DataFrame:
    """Each VM's assigned policy, its type, and whether it can protect the VM."""
    names = scanned["policy"].cast(pl.String)
    if policies is None or names.null_count() == names.len():
        return scanned.with_columns(
            assigned_policy=names,
            assigned_type=pl.lit(None, dtype=pl.String),
            assigned_ok=pl.lit(None, dtype=pl.Boolean),
        )
    missing = sorted(set(names.drop_nulls()) - set(policies))
    if missing:
        raise ValueError(
            f"policy {missing[0]!r} assigned in disks is not given; known policies: "
            f"{sorted(policies)}"
        )
    kinds = {
        name: "agentless" if p.consistency == "crash" else p.policy_type
        for name, p in policies.items()
    }
    typed = scanned.with_columns(
        assigned_policy=names,
        assigned_type=names.replace_strict(kinds, default=None, return_dtype=pl.String),
    )
    ok = (
        pl.when(pl.col("assigned_type") == "standard")
        .then(pl.col("standard_ok"))
        .when(pl.col("assigned_type") == "enhanced")
        .then(pl.col("enhanced_ok"))
        .when(pl.col("assigned_type") == "agentless")
        .then(pl.col("agentless_ok"))
    )
    warning = pl.format(
        "the assigned policy {} ({}) cannot protect it", "assigned_policy", "assigned_type"
    )
    return typed.with_columns(
        assigned_ok=ok,
        # G8: the Trusted Launch note concerns Standard policies only (Enhanced bills the same)
        risks=pl.when(pl.col("assigned_type").is_in(["enhanced", "agentless"]))
        .then(pl.col("risks").list.eval(pl.element().filter(pl.element() != TRUSTED_LAUNCH_RISK)))
        .otherwise(pl.col("risks")),
    ).with_columns(
        reasons=pl.when(pl.col("assigned_ok").not_())
        .then(pl.concat_list(pl.concat_list(warning), "reasons"))
        .otherwise(pl.col("reasons"))
    )
