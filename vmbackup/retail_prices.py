"""Turn Azure Retail Prices API items into rows of the project's price table (P7).

The Retail Prices API (``https://prices.azure.com/api/retail/prices``) answers with pages of
the shape ``{"BillingCurrency", "Items": [...], "NextPageLink", "Count"}``; each item has
``currencyCode``, ``armRegionName``, ``productName``, ``meterName``, ``unitOfMeasure``,
``retailPrice``, ``tierMinimumUnits``, ``effectiveStartDate``, ``type`` and ``meterId``. The
project never calls the API: the user saves the JSON (``curl`` with a ``$filter``, one file per
page or a list of pages) and ``python -m vmbackup prices import FILE...`` converts it.

Rules:

- Rows of ``type`` ``Reservation`` or a product naming reserved capacity price 100 TB / 1 PB
  terms, not GB-months: they are rejected (counted, never kept) (P7).
- Only the meters the billing model knows are kept (:data:`vmbackup.billing.KNOWN_METERS`);
  snapshot meters only under the managed-disk products of
  :data:`vmbackup.billing.SNAPSHOT_PRODUCTS`. Everything else is counted as skipped.
- ``Azure VM Protected Instance`` is one meter of the large-instance price; the small-instance
  row (up to 50 GB) is derived as half of it, as the pricing page's 5 vs 10 USD (P1), and its
  source says so.
- When a meter appears with several ``effectiveStartDate``, the newest is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from vmbackup.billing import KNOWN_METERS, PI_METER, SNAPSHOT_PRODUCTS

__all__ = ["RetailImport", "rows_from_retail_items"]

_COLUMNS = (
    "region",
    "currency",
    "product",
    "meter",
    "unit",
    "tier_min_gb",
    "price",
    "source",
    "as_of",
)


@dataclass(frozen=True)
class RetailImport:
    """The rows made from a Retail Prices API response, and what was left out.

    Attributes
    ----------
    rows
        Price-table rows (schema of ``datasets/prices.csv``).
    reservations
        Reservation rows rejected (P7).
    skipped
        Items of meters the billing model does not use.
    """

    rows: pl.DataFrame
    reservations: int
    skipped: int


def _field(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item:
        raise ValueError(f"{where}: missing field {key!r} (a Retail Prices API item has it)")
    return item[key]


def rows_from_retail_items(items: Iterable[tuple[str, Mapping[str, Any]]]) -> RetailImport:
    """Convert Retail Prices API items (each with a label saying where it came from).

    Parameters
    ----------
    items
        ``(label, item)`` pairs; the label (``file.json Items[3]``) names the item in errors
        and in each row's ``source``.

    Raises
    ------
    ValueError
        An item without a needed field, or with a negative or non-numeric price.

    Examples
    --------
    >>> item = {"currencyCode": "USD", "armRegionName": "eastus", "productName": "Backup",
    ...         "meterName": "Standard LRS Data Stored", "unitOfMeasure": "1 GB/Month",
    ...         "retailPrice": 0.0224, "tierMinimumUnits": 0.0, "type": "Consumption",
    ...         "effectiveStartDate": "2024-06-01T00:00:00Z", "meterId": "m1"}
    >>> got = rows_from_retail_items([("p.json Items[0]", item)])
    >>> got.rows.select("region", "meter", "price").row(0)
    ('eastus', 'Standard LRS Data Stored', 0.0224)
    """
    rows: list[tuple[Any, ...]] = []
    reservations = skipped = 0
    for label, item in items:
        if not isinstance(item, Mapping):
            raise ValueError(f"{label}: an item must be a JSON object, found {type(item).__name__}")
        product = str(_field(item, "productName", label))
        kind = str(item.get("type", "Consumption"))
        if kind.lower() == "reservation" or "reserv" in product.lower():
            reservations += 1
            continue
        meter = str(_field(item, "meterName", label))
        snapshot = meter.endswith(" Snapshots")
        if meter not in KNOWN_METERS or (snapshot and product not in SNAPSHOT_PRODUCTS.values()):
            skipped += 1
            continue
        price = _field(item, "retailPrice", label)
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ValueError(f"{label}: retailPrice={price!r} must be a number >= 0")
        region = str(_field(item, "armRegionName", label))
        currency = str(_field(item, "currencyCode", label))
        unit = str(_field(item, "unitOfMeasure", label))
        as_of = str(_field(item, "effectiveStartDate", label))[:10]
        source = f"Retail Prices API, {label}, meterId {item.get('meterId', '?')}"
        if meter == PI_METER:
            rows.append((region, currency, product, meter, unit, 50.0, float(price), source, as_of))
            rows.append(
                (
                    region,
                    currency,
                    product,
                    meter,
                    unit,
                    0.0,
                    float(price) / 2,
                    f"derived: half of {source} (small instance up to 50 GB, P1)",
                    as_of,
                )
            )
        else:
            rows.append((region, currency, product, meter, unit, None, float(price), source, as_of))
    frame = pl.DataFrame(rows, schema=list(_COLUMNS), orient="row").cast(
        {"tier_min_gb": pl.Float64, "price": pl.Float64}
    )
    key = ["region", "currency", "product", "meter", "tier_min_gb"]
    newest = frame.sort("as_of").unique(subset=key, keep="last", maintain_order=True).sort(key)
    return RetailImport(newest, reservations, skipped)
