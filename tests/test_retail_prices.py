"""P7: Retail Prices API responses become price-table rows; reservation rows are rejected."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vmbackup.cli import main
from vmbackup.data import dataset_path, read_prices, read_retail_prices

SAMPLE = dataset_path("retail_prices_sample.json")


def test_p7_import_keeps_backup_meters_and_rejects_reservations() -> None:
    """P7: 'Backup Reserved Capacity' / type Reservation rows are 100 TB terms: rejected."""
    found = read_retail_prices([SAMPLE])
    assert found.reservations == 1
    # skipped: the SQL Server in Azure VM meter, and the two Premium SSD snapshot meters
    # (backup snapshots are never billed by the disk's media, G9)
    assert found.skipped == 3
    assert (found.rows["price"] < 1000).all()
    assert set(found.rows["region"]) == {"westeurope"}


def test_p7_imported_rows_make_a_price_table_the_bill_can_use(tmp_path: Path) -> None:
    """P7, P1: the PI meter gives the large-instance price; the small one is derived as half."""
    out = tmp_path / "prices.csv"
    err = io.StringIO()
    assert main(["prices", "import", str(SAMPLE), "--out", str(out)], err=err) == 0
    assert "1 reservation rows rejected" in err.getvalue()
    prices = read_prices(out)
    assert prices.currency == "EUR"
    assert prices.pi_per_500_gb_usd == pytest.approx(8.775779)
    assert prices.pi_small_usd == pytest.approx(8.775779 / 2)
    assert prices.storage_usd_per_gb_month["GRS"] == pytest.approx(0.039315)
    assert "Retail Prices API" in prices.sources()


def test_pages_split_over_several_files_are_joined(tmp_path: Path) -> None:
    pages = json.loads(SAMPLE.read_text())
    files = []
    for i, page in enumerate(pages):
        files.append(tmp_path / f"page{i}.json")
        files[-1].write_text(json.dumps(page))
    assert read_retail_prices(files).rows.height == read_retail_prices([SAMPLE]).rows.height


def test_a_file_that_is_not_a_retail_response_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"value": []}')
    err = io.StringIO()
    assert main(["prices", "import", str(bad)], err=err) == 2
    assert "bad.json: expected a Retail Prices API response with an 'Items' list" in err.getvalue()
    only_sql = tmp_path / "sql.json"
    page = json.loads(SAMPLE.read_text())[0]
    page["Items"] = [i for i in page["Items"] if i["meterName"].startswith("SQL")]
    only_sql.write_text(json.dumps(page))
    with pytest.raises(ValueError, match="no Azure VM backup meters found"):
        read_retail_prices([only_sql])
    page["Items"][0]["retailPrice"] = -1
    page["Items"][0]["meterName"] = "Standard LRS Data Stored"
    only_sql.write_text(json.dumps(page))
    with pytest.raises(ValueError, match=r"Items\[0\]: retailPrice=-1 must be a number >= 0"):
        read_retail_prices([only_sql])


def test_every_price_row_has_a_source_and_as_of_and_assumptions_say_so() -> None:
    """Prices: four regions, USD and EUR, each row sourced; derived figures marked ASSUMPTION."""
    import polars as pl

    table = pl.read_csv(dataset_path("prices.csv"))
    assert set(table["region"]) >= {"eastus", "westeurope", "uksouth", "southeastasia"}
    assert set(table["currency"]) == {"USD", "EUR"}
    assert table["source"].str.len_chars().min() > 10  # type: ignore[operator]
    assert table["as_of"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    for region in ("eastus", "westeurope", "uksouth", "southeastasia"):
        for currency in ("USD", "EUR"):
            p = read_prices(region=region, currency=currency)
            assert p.rows.height == 11  # PI x2, vault x4, archive x2, snapshots x3 (G9)
    derived = table.filter(pl.col("region") == "uksouth")
    assert derived["source"].str.starts_with("ASSUMPTION").sum() >= 10


def _item(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "currencyCode": "USD",
        "armRegionName": "eastus",
        "productName": "Backup",
        "meterName": "Standard LRS Data Stored",
        "unitOfMeasure": "1 GB/Month",
        "retailPrice": 0.0224,
        "tierMinimumUnits": 0.0,
        "type": "Consumption",
        "effectiveStartDate": "2024-06-01T00:00:00Z",
        "meterId": "m-lrs",
    }
    item.update(changes)
    return item


def test_p7_a_reservation_is_rejected_by_its_type_or_by_its_product_alone() -> None:
    """P7: either sign of a reserved-capacity term is enough to keep it out of the price table."""
    from vmbackup.retail_prices import rows_from_retail_items

    by_type = _item(type="Reservation", retailPrice=2000.0)
    by_product = _item(productName="Backup Reserved Capacity", retailPrice=2000.0)
    got = rows_from_retail_items([("a", by_type), ("b", by_product), ("c", _item())])
    assert got.reservations == 2
    assert got.rows["price"].to_list() == [0.0224]


def test_p7_the_newest_price_of_a_meter_wins_and_each_row_cites_its_meter_id() -> None:
    """P7: an older and a newer price of one meter give one row, the newer, sourced by meterId."""
    from vmbackup.retail_prices import rows_from_retail_items

    old = _item(retailPrice=0.03, effectiveStartDate="2023-01-01T00:00:00Z", meterId="m-old")
    new = _item(retailPrice=0.0224, effectiveStartDate="2024-06-01T00:00:00Z", meterId="m-new")
    got = rows_from_retail_items([("p.json Items[0]", new), ("p.json Items[1]", old)])
    assert got.rows.height == 1
    assert got.rows["price"].item() == 0.0224
    assert got.rows["as_of"].item() == "2024-06-01"
    assert "meterId m-new" in got.rows["source"].item()
