"""The file readers: required columns, typed values, clear errors, inputs left untouched."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from vmbackup.data import dataset_path, read_csv, read_json

SCHEMA = {"vm": pl.String, "used_gb": pl.Float64}


def test_read_csv_casts_required_columns_and_keeps_extra_ones(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text("vm,used_gb,note\nweb-1, 47 ,ok\nweb-2,0,\n")
    frame = read_csv(path, SCHEMA)
    assert frame["used_gb"].to_list() == [47.0, 0.0]
    assert frame.columns == ["vm", "used_gb", "note"]
    assert path.read_text() == "vm,used_gb,note\nweb-1, 47 ,ok\nweb-2,0,\n"


def test_read_csv_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text("vm,size\nweb-1,47\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['used_gb'\]"):
        read_csv(path, SCHEMA)


def test_read_csv_names_the_row_and_value_that_is_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text("vm,used_gb\nweb-1,47\nweb-2,lots\n")
    with pytest.raises(ValueError, match=r"column 'used_gb' row 3 has value 'lots'"):
        read_csv(path, SCHEMA)


def test_read_csv_rejects_an_empty_file_and_a_missing_path(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_csv(empty, SCHEMA)
    with pytest.raises(ValueError, match="is not a file"):
        read_csv(tmp_path / "nowhere.csv", SCHEMA)


def test_read_json_reports_where_the_json_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"properties": {\n  "policyType": "V2",\n}}')
    with pytest.raises(ValueError, match=r"policy.json: malformed JSON at line 3"):
        read_json(path)


def test_dataset_path_lists_what_exists_when_asked_for_a_missing_file() -> None:
    with pytest.raises(ValueError, match=r"dataset='nope.csv' not found.*README.md"):
        dataset_path("nope.csv")
