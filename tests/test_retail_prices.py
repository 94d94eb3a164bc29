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
    assert found.skipped == 1  # the SQL Server in Azure VM meter
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
            assert p.rows.height == 12
    derived = table.filter(pl.col("region") == "uksouth")
    assert derived["source"].str.starts_with("ASSUMPTION").sum() >= 10
