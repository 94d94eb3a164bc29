"""The one module that reads files: the project's ``datasets/`` and a user's own CSV or JSON.

Every reader validates what it reads and raises ValueError naming the file, the field, the bad
value and what is allowed. Nothing a user passes in is modified.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from vmbackup._checks import check_frame
from vmbackup.billing import STANDARD_SNAPSHOT_METER, Prices, prices_from_frame
from vmbackup.inventory import (
    apply_used_sizes,
    apply_vm_settings,
    estate_disks,
    estate_to_fleet,
    protected_items,
)
from vmbackup.policy import Policy
from vmbackup.policy_json import SourcedPolicy, policies_from_document
from vmbackup.retail_prices import RetailImport, rows_from_retail_items
from vmbackup.schema import FLEET_COLUMNS, MAX_DATA_DISKS

__all__ = [
    "DATASETS_DIR",
    "PRICE_SCHEMA",
    "dataset_path",
    "read_azure_estate",
    "read_csv",
    "read_estate_disks",
    "read_json",
    "read_lag_profile",
    "read_msr_trace",
    "read_policies",
    "read_policy",
    "read_policy_file",
    "read_prices",
    "read_protected_items",
    "read_retail_prices",
    "read_used_sizes",
    "read_vm_settings",
]

#: Columns of a price table (``datasets/prices.csv``; see ``datasets/README.md``).
PRICE_SCHEMA: dict[str, type[pl.DataType]] = {
    "region": pl.String,
    "currency": pl.String,
    "product": pl.String,
    "meter": pl.String,
    "unit": pl.String,
    "tier_min_gb": pl.Float64,
    "price": pl.Float64,
    "source": pl.String,
    "as_of": pl.String,
}

#: The ``datasets/`` folder shipped beside the package (see ``datasets/README.md``).
DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def dataset_path(name: str) -> Path:
    """Return the path of a file in ``datasets/``; raise ValueError if there is none.

    >>> dataset_path("README.md").name
    'README.md'
    """
    path = DATASETS_DIR / name
    if not path.is_file():
        available = sorted(p.name for p in DATASETS_DIR.iterdir() if p.is_file())
        raise ValueError(f"dataset={name!r} not found in {DATASETS_DIR}; available: {available}")
    return path


def read_csv(
    path: str | Path,
    schema: Mapping[str, type[pl.DataType] | pl.DataType],
    optional: Mapping[str, type[pl.DataType] | pl.DataType] | None = None,
) -> pl.DataFrame:
    """Read a CSV file and check it holds ``schema``'s columns with values of their types.

    Parameters
    ----------
    path
        The CSV file (with a header row).
    schema
        Required column name -> polars dtype. Extra columns are kept as read.
    optional
        Column name -> polars dtype of columns that may be absent: cast (and checked) where
        present; blanks are nulls.

    Returns
    -------
    polars.DataFrame
        The file's rows, required columns cast to their dtypes, in the file's column order.

    Raises
    ------
    ValueError
        The file is missing or empty, a required column is absent, or a value cannot be read as
        its column's type (the message names the column, the row and the value).
    """
    file = Path(path)
    try:
        frame = pl.read_csv(_csv_bytes(file), infer_schema=False)
    except pl.exceptions.NoDataError as error:
        raise ValueError(
            f"{file.name}: the file is empty; expected columns {list(schema)}"
        ) from error
    except pl.exceptions.ComputeError as error:
        raise ValueError(f"{file.name}: not a readable CSV file ({error})") from error
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{file.name}: missing column(s) {missing}; required columns are {list(schema)}, "
            f"found {frame.columns}"
        )
    casts = []
    typed = dict(schema) | {c: t for c, t in (optional or {}).items() if c in frame.columns}
    for column, dtype in typed.items():
        raw = frame[column]
        text = raw.str.strip_chars()
        if dtype == pl.Boolean:
            cast = text.str.to_lowercase().replace_strict(
                _BOOLEANS, default=None, return_dtype=pl.Boolean
            )
        else:
            cast = text.cast(dtype, strict=False)
        bad = cast.is_null() & raw.is_not_null() & (raw.str.strip_chars() != "")
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ValueError(
                f"{file.name}: column {column!r} row {row + 2} has value {raw[row]!r}, "
                f"which is not a valid {dtype}"
            )
        casts.append(cast.alias(column))
    return frame.with_columns(casts)


#: The largest file a reader accepts [bytes]; an estate export is far smaller.
MAX_JSON_BYTES = 512 * 1024 * 1024


def _decode(raw: bytes, name: str) -> str:
    """Text of a file as real tools write it: UTF-8 with or without a byte-order mark, or UTF-16
    with one (PowerShell's ``Out-File``)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif raw.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{name}: not {encoding.upper()} text (byte {error.start}); save it as UTF-8 or "
            "UTF-16 with a byte-order mark"
        ) from None


def _text(file: Path) -> str:
    """A user's text file, size-limited and decoded as real tools write it."""
    if not file.is_file():
        raise ValueError(f"path={str(file)!r} is not a file")
    if file.stat().st_size > MAX_JSON_BYTES:
        raise ValueError(f"{file.name}: larger than {MAX_JSON_BYTES // 2**20} MiB; not read")
    return _decode(file.read_bytes(), file.name)


def _csv_bytes(file: Path) -> io.BytesIO:
    """A CSV file as UTF-8 bytes with LF line ends, whatever encoding and line ends it had."""
    text = _text(file).replace("\r\n", "\n")
    return io.BytesIO(text.encode("utf-8"))


def read_json(path: str | Path) -> Any:
    """Read a JSON file; raise ValueError naming the file, line and column if it is malformed.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order mark are accepted.
    """
    file = Path(path)
    text = _text(file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{file.name}: malformed JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from error
    except RecursionError:
        raise ValueError(f"{file.name}: JSON nested too deeply to be a policy or estate") from None


def read_prices(
    path: str | Path | None = None, region: str | None = None, currency: str | None = None
) -> Prices:
    """Read a price table (default ``datasets/prices.csv``) and return one region's prices.

    Reservation rows and unknown meters are rejected (P7); see
    :func:`vmbackup.billing.prices_from_frame`. The project's own table holds several regions
    and currencies: without ``region`` it gives West Europe, without ``currency`` USD.

    >>> read_prices(region="westeurope").storage_usd_per_gb_month["LRS"]
    0.0224
    >>> read_prices(region="westeurope", currency="EUR").storage_usd_per_gb_month["LRS"]
    0.019658
    """
    file = dataset_path("prices.csv") if path is None else Path(path)
    frame = read_csv(file, PRICE_SCHEMA)
    if path is None and region is None:
        region = "westeurope"
    try:
        return prices_from_frame(frame, region, currency)
    except ValueError as error:
        raise ValueError(f"{file.name}: {error}") from error


def read_retail_prices(paths: Sequence[str | Path]) -> RetailImport:
    """Read saved Retail Prices API responses and turn them into price-table rows (P7).

    Each file holds one response page (``{"Items": [...], "NextPageLink": ...}``) or a list of
    pages; reservation rows are rejected and unused meters skipped (see
    :func:`vmbackup.retail_prices.rows_from_retail_items`). The project never fetches them.
    """
    items: list[tuple[str, Any]] = []
    for path in paths:
        file = Path(path)
        document = read_json(file)
        pages = document if isinstance(document, list) else [document]
        for p, page in enumerate(pages):
            where = f"{file.name}" + (f"[{p}]" if isinstance(document, list) else "")
            if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
                raise ValueError(
                    f"{where}: expected a Retail Prices API response with an 'Items' list"
                )
            items += [(f"{where} Items[{i}]", item) for i, item in enumerate(page["Items"])]
    found = rows_from_retail_items(items)
    if found.rows.height == 0:
        raise ValueError(
            f"{', '.join(Path(p).name for p in paths)}: no Azure VM backup meters found "
            f"({found.reservations} reservation rows rejected, {found.skipped} other meters)"
        )
    return dataclasses.replace(found, rows=_with_standard_snapshot_rows(found.rows))


def _with_standard_snapshot_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Add the Standard policy's snapshot price (G9) to imported rows: no Retail Prices API
    meter carries it, so each imported region and currency takes the shipped table's row (the
    same region's, else East US's in that currency), its source saying where it came from."""
    shipped = pl.read_csv(DATASETS_DIR / "prices.csv", infer_schema_length=0).filter(
        pl.col("meter") == STANDARD_SNAPSHOT_METER
    )
    added = []
    for region, currency in rows.select("region", "currency").unique(maintain_order=True).rows():
        for where in (region, "eastus"):
            row = shipped.filter((pl.col("region") == where) & (pl.col("currency") == currency))
            if row.height:
                break
        if not row.height:
            continue
        added.append(
            row.head(1).with_columns(
                region=pl.lit(region),
                source="carried from the project's datasets/prices.csv ("
                + pl.col("source")
                + ") - no Retail Prices API meter exists for it",
            )
        )
    if not added:
        return rows
    extra = pl.concat(added).select(rows.columns).cast(rows.schema)
    return pl.concat([rows, extra])


def read_policy_file(
    path: str | Path, *, enforce: bool = True, rules: str = "today"
) -> list[SourcedPolicy]:
    """Read every VM backup policy in a JSON file, whatever its shape (Y4).

    ARM / ``az backup policy show`` (or ``list``) output, a REST PUT request body or API example,
    or ``terraform show -json`` output (plan or state) with ``azurerm_backup_policy_vm``
    resources; see :func:`vmbackup.policy_json.policies_from_document`. Messages start with the
    file name and give the JSON path of the bad field.
    """
    file = Path(path)
    return policies_from_document(
        read_json(file), label=file.name, enforce=enforce, rules=rules, default_name=file.stem
    )


def read_policy(path: str | Path, *, enforce: bool = True, rules: str = "today") -> Policy:
    """Read the one backup policy of a JSON file (any shape of :func:`read_policy_file`)."""
    found = read_policy_file(path, enforce=enforce, rules=rules)
    if len(found) != 1:
        names = ", ".join(s.policy.name for s in found)
        raise ValueError(f"{Path(path).name}: holds {len(found)} policies ({names}); expected one")
    return found[0].policy


#: Columns of a fleet file (one row per disk; see ``datasets/README.md``).
FLEET_SCHEMA: dict[str, type[pl.DataType]] = {
    "vm_name": pl.String,
    "os": pl.String,
    "vm_size": pl.String,
    "cores": pl.Int64,
    "memory_gb": pl.Float64,
    "policy": pl.String,
    "churn_class": pl.String,
    "disk_name": pl.String,
    "disk_role": pl.String,
    "disk_type": pl.String,
    "managed": pl.Boolean,
    "storage_account": pl.String,
    "allocated_gb": pl.Float64,
    "used_gb": pl.Float64,
}


#: Optional columns of a fleet file (``vmbackup.schema``): blank or absent, the model assumes.
FLEET_OPTIONAL: dict[str, type[pl.DataType]] = {
    "schedule_hour": pl.Float64,
    "churn_gb_per_day": pl.Float64,
    "throughput_mb_s_per_disk": pl.Float64,
    "vm_id": pl.String,
    "protection_state": pl.String,
    "first_backup_done": pl.Boolean,
    "used_gb_assumed": pl.Boolean,
    "power_state": pl.String,
}


def check_fleet(fleet: pl.DataFrame, name: str = "fleet", row_offset: int = 0) -> pl.DataFrame:
    """Check a fleet table's values; return it normalised (a new frame), or raise ValueError
    naming the row.

    Checks (see :data:`FLEET_COLUMNS`): every required column present, of its type, without
    blanks (``policy``, ``schedule_hour`` and the optional columns may be blank); vocabulary
    columns hold allowed values (any case); sizes are finite and >= 0 and ``used_gb`` is at
    most ``allocated_gb``; ``schedule_hour`` is in [0, 24); every VM has
    exactly one OS disk and at most 32 data disks (X1); an unmanaged disk names its storage
    account; the table holds at least one VM.
    """
    fleet = check_frame(fleet, FLEET_COLUMNS, name=name, row_offset=row_offset, label="disk_name")
    if fleet.height == 0:
        raise ValueError(f"{name}: the table holds no disk; a fleet needs at least one VM")
    numbered = fleet.with_row_index("_row", offset=row_offset)

    def fail(condition: pl.Expr, message: str) -> None:
        bad = numbered.filter(condition)
        if bad.height:
            row = bad.row(0, named=True)
            raise ValueError(
                f"{name}: row {row['_row']} ({row['disk_name']}): " + message.format(**row)
            )

    fail(
        pl.col("used_gb") > pl.col("allocated_gb"),
        "used_gb={used_gb} exceeds allocated_gb={allocated_gb} (both in GB)",
    )
    fail(
        (pl.col("disk_role") != "temp")
        & ~pl.col("managed")
        & (pl.col("storage_account").fill_null("") == ""),
        "an unmanaged disk must name its storage_account",
    )
    roles = fleet.group_by("vm_name", maintain_order=True).agg(
        os=(pl.col("disk_role") == "os").sum(), data=(pl.col("disk_role") == "data").sum()
    )
    wrong = roles.filter(pl.col("os") != 1)
    if wrong.height:
        raise ValueError(
            f"{name}: vm_name={wrong['vm_name'][0]!r} has {wrong['os'][0]} OS disks; "
            "each VM needs exactly one"
        )
    crowded = roles.filter(pl.col("data") > MAX_DATA_DISKS)
    if crowded.height:
        raise ValueError(
            f"{name}: vm_name={crowded['vm_name'][0]!r} has {crowded['data'][0]} data disks; "
            f"a VM has at most {MAX_DATA_DISKS} (X1)"
        )
    return fleet


def read_fleet(path: str | Path | None = None) -> pl.DataFrame:
    """Read a fleet CSV (default ``datasets/sample_fleet.csv``), one row per disk, and check it.

    >>> read_fleet()["vm_name"].n_unique()
    200
    """
    file = dataset_path("sample_fleet.csv") if path is None else Path(path)
    frame = read_csv(file, FLEET_SCHEMA, FLEET_OPTIONAL)
    blank_policy = pl.col("policy").str.strip_chars() == ""
    frame = frame.with_columns(
        pl.col("storage_account").fill_null(""),
        policy=pl.when(blank_policy).then(None).otherwise(pl.col("policy")),
    )
    if "schedule_hour" not in frame.columns:
        frame = frame.with_columns(schedule_hour=pl.lit(None, dtype=pl.Float64))
    return check_fleet(frame, file.name, row_offset=2)


#: The MSR Cambridge trace columns, in file order (the files have no header).
MSR_COLUMNS = ("Timestamp", "Hostname", "DiskNumber", "Type", "Offset", "Size", "ResponseTime")
#: Windows FILETIME of 1970-01-01 (100 ns ticks since 1601-01-01).
FILETIME_UNIX_EPOCH = 116_444_736_000_000_000


def read_msr_trace(path: str | Path | None = None) -> pl.DataFrame:
    """Read a block I/O trace in the MSR Cambridge CSV format (default: the project's sample).

    Returns
    -------
    polars.DataFrame
        ``timestamp`` (UTC datetime), ``hostname``, ``disk_number``, ``type`` (``Read`` or
        ``Write``), ``offset_bytes``, ``size_bytes``, ``response_time_s``.

    Raises
    ------
    ValueError
        Wrong number of columns, a value that is not a number, or a Type other than Read/Write,
        naming the line.

    >>> read_msr_trace().height
    24048
    """
    file = dataset_path("msr_sample_trace.csv") if path is None else Path(path)
    try:
        raw = pl.read_csv(_csv_bytes(file), has_header=False, infer_schema=False)
    except pl.exceptions.NoDataError as error:
        raise ValueError(f"{file.name}: the trace is empty") from error
    except pl.exceptions.ComputeError as error:
        raise ValueError(f"{file.name}: not an MSR trace CSV ({error})") from error
    if raw.width != len(MSR_COLUMNS):
        raise ValueError(
            f"{file.name}: {raw.width} columns; an MSR trace line has {len(MSR_COLUMNS)}: "
            f"{','.join(MSR_COLUMNS)} (no header)"
        )
    raw.columns = list(MSR_COLUMNS)
    numbers = ("Timestamp", "DiskNumber", "Offset", "Size", "ResponseTime")
    typed = raw.with_columns(
        pl.col(c).str.strip_chars().cast(pl.Int64, strict=False) for c in numbers
    )
    for column in (*numbers, "Type"):
        if column == "Type":
            bad = typed.with_row_index("line", 1).filter(~pl.col("Type").is_in(["Read", "Write"]))
        else:
            bad = typed.with_row_index("line", 1).filter(
                pl.col(column).is_null() | (pl.col(column) < 0)
            )
        if bad.height:
            line = bad["line"][0]
            value = raw[column][line - 1]
            allowed = "Read or Write" if column == "Type" else "a whole number >= 0"
            raise ValueError(f"{file.name}: line {line}: {column}={value!r}; expected {allowed}")
    return typed.select(
        timestamp=pl.from_epoch(
            (pl.col("Timestamp") - FILETIME_UNIX_EPOCH) // 10, time_unit="us"
        ).dt.replace_time_zone("UTC"),
        hostname=pl.col("Hostname"),
        disk_number=pl.col("DiskNumber"),
        type=pl.col("Type"),
        offset_bytes=pl.col("Offset"),
        size_bytes=pl.col("Size"),
        response_time_s=pl.col("ResponseTime") / 1e7,
    )


def read_lag_profile(path: str | Path | None = None) -> npt.NDArray[np.float64]:
    """Read the hourly snapshot-to-vault lag profile (default ``datasets/peak_lag_profile.csv``).

    Returns 24 values [h], one per hour of the day the snapshot is taken.

    >>> float(read_lag_profile().max())
    8.0
    """
    file = dataset_path("peak_lag_profile.csv") if path is None else Path(path)
    frame = read_csv(file, {"hour": pl.Int64, "lag_hours": pl.Float64}).sort("hour")
    if frame["hour"].to_list() != list(range(24)):
        raise ValueError(f"{file.name}: column 'hour' must hold 0..23 once each")
    lags = frame["lag_hours"].to_numpy()
    if (lags < 0).any() or (lags > 8).any() or np.isnan(lags).any():
        raise ValueError(f"{file.name}: lag_hours must be between 0 and 8 (S11: at most 8 h)")
    return lags.astype(np.float64)


def read_azure_estate(
    vms_path: str | Path, disks_path: str | Path | None = None, **options: Any
) -> pl.DataFrame:
    """Read ``az vm list -d`` (and ``az disk list``) JSON files into a checked fleet table.

    Disk sizes come in GiB (``diskSizeGB``) and are converted to the fleet's GB (G14); each VM's
    ``powerState`` becomes ``power_state`` (see :mod:`vmbackup.inventory`). ``options`` go to
    :func:`vmbackup.inventory.estate_to_fleet` (``used_fraction``, ``schedule_hour``, ``policy``,
    ``churn_class``).
    """
    vms = read_json(vms_path)
    disks = read_json(disks_path) if disks_path is not None else []
    try:
        fleet = estate_to_fleet(vms, disks, **options)
    except ValueError as error:
        raise ValueError(f"{Path(vms_path).name}: {error}") from error
    return check_fleet(fleet, Path(vms_path).name)


def read_estate_disks(vms_path: str | Path, disks_path: str | Path) -> pl.DataFrame:
    """Read ``az vm list -d`` and ``az disk list`` JSON into the eligibility table, one row per
    disk (:func:`vmbackup.inventory.estate_disks`)."""
    try:
        return estate_disks(read_json(vms_path), read_json(disks_path))
    except ValueError as error:
        if str(error).startswith(Path(vms_path).name):
            raise
        raise ValueError(f"{Path(vms_path).name}: {error}") from error


def read_policies(paths: list[str | Path] | None = None) -> dict[str, Policy]:
    """Read policy JSON files into ``{name: Policy}`` (default: the samples in ``datasets/``).

    A file may hold several policies (Terraform); two policies of one name are an error.
    """
    files = (
        sorted((DATASETS_DIR / "policies").glob("*.json"))
        if paths is None
        else [Path(p) for p in paths]
    )
    policies: dict[str, Policy] = {}
    for file in files:
        for sourced in read_policy_file(file):
            name = sourced.policy.name
            if name in policies:
                raise ValueError(f"{file.name}: a second policy named {name!r}")
            policies[name] = sourced.policy
    return policies


def read_protected_items(path: str | Path) -> pl.DataFrame:
    """Read a vault's VM backup items: the JSON ``az backup item list`` prints, or a REST
    ``protectedItems`` list (:func:`vmbackup.inventory.protected_items`); messages start with
    the file name and give the JSON path of the bad field."""
    file = Path(path)
    return protected_items(read_json(file), label=file.name)


def read_used_sizes(path: str | Path, fleet: pl.DataFrame) -> pl.DataFrame:
    """Apply a CSV of measured used sizes (``disk_name``, ``used_gb``, optional ``vm_name``) to
    ``fleet`` (:func:`vmbackup.inventory.apply_used_sizes`); a new fleet is returned."""
    file = Path(path)
    frame = read_csv(file, {"disk_name": pl.String, "used_gb": pl.Float64}, {"vm_name": pl.String})
    return apply_used_sizes(fleet, frame, label=file.name)


#: A start time in a settings file: ``22:30`` (or a number of hours).
_CLOCK = r"^\s*(\d{1,2}):(\d{2})\s*$"


def read_vm_settings(path: str | Path, fleet: pl.DataFrame) -> pl.DataFrame:
    """Apply a CSV of per-VM settings to ``fleet`` (:func:`vmbackup.inventory.apply_vm_settings`):
    ``vm_name`` and any of ``churn_class``, ``churn_gb_per_day``, ``throughput_mb_s_per_disk``
    and ``start_time`` (``HH:MM`` in the policy's time zone, a start-time override; or
    ``schedule_hour`` in hours), and churn per point kind (P6: ``weekly_churn_fraction``,
    ``monthly_churn_fraction``, ``yearly_churn_fraction``, shares in [0, 1] of the used data
    changed over 7, 31 and 365 days); blank cells leave the fleet's values."""
    file = Path(path)
    periods = ("weekly_churn_fraction", "monthly_churn_fraction", "yearly_churn_fraction")
    optional = {
        "churn_class": pl.String,
        "churn_gb_per_day": pl.Float64,
        "throughput_mb_s_per_disk": pl.Float64,
        "schedule_hour": pl.Float64,
        "start_time": pl.String,
        **dict.fromkeys(periods, pl.Float64),
    }
    frame = read_csv(file, {"vm_name": pl.String}, optional)
    given = [c for c in periods if c in frame.columns]
    shares = frame.select("vm_name", *given)
    frame = frame.drop(given)
    if "start_time" in frame.columns:
        text = frame["start_time"].str.strip_chars()
        parts = text.str.extract_groups(_CLOCK)
        hour = parts.struct.field("1").cast(pl.Int64) + parts.struct.field("2").cast(pl.Int64) / 60
        bad = (
            text.is_not_null()
            & (text != "")
            & (hour.is_null() | (hour >= 24) | (parts.struct.field("2").cast(pl.Int64) >= 60))
        )
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ValueError(
                f"{file.name}: row {row + 2}: start_time={frame['start_time'][row]!r} must be a "
                "time of day HH:MM (00:00 to 23:59, in the policy's time zone)"
            )
        if "schedule_hour" in frame.columns:
            hour = frame["schedule_hour"].fill_null(hour)
        frame = frame.drop("start_time").with_columns(schedule_hour=hour)
    frame = frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None)
        for c in ("churn_class",)
        if c in frame.columns
    )
    result = apply_vm_settings(fleet, frame, label=file.name)  # checks the VM names
    if not given:
        return result
    spec = {c: FLEET_COLUMNS[c] for c in ("vm_name", *given)}
    shares = check_frame(shares, spec, name=file.name, row_offset=2, label="vm_name")
    result = result.join(shares.rename({c: f"_set_{c}" for c in given}), on="vm_name", how="left")
    return result.with_columns(
        pl.coalesce(pl.col(f"_set_{c}"), pl.col(c) if c in fleet.columns else pl.lit(None))
        .cast(pl.Float64)
        .alias(c)
        for c in given
    ).drop(f"_set_{c}" for c in given)
