"""The pieces of messy-table reading on their own: encodings from bytes, numbers as offices
write them, header rows, merged cells. Oracles: the text the bytes were made from, and the
numbers written by hand."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest

from circle15.errors import InputError
from circle15.sources._encoding import declared_encoding, detect_encoding
from circle15.sources.tables import Problems, parse_number, parse_numbers, read_messy_table

CHINESE = [
    "高速公路",
    "是",
    "城市主干路",
    "蛟川街道",
    "镇海区庄市街道中心幼儿园（分园）",
    "九龙湖镇",
    "名称,经度,纬度\n骆驼街道,121.5,29.9\n",
]


@pytest.mark.parametrize("text", CHINESE)
def test_short_gbk_text_is_gbk_not_korean_or_latin(text):
    found = detect_encoding(text.encode("gbk"))
    assert found.name == "gb18030" and text.encode("gbk").decode(found.name) == text


@pytest.mark.parametrize("text", CHINESE)
def test_utf8_wins(text):
    assert detect_encoding(text.encode("utf-8")).name == "utf-8"


@pytest.mark.parametrize(
    "codec, name",
    [
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("utf-8-sig", "utf-8-sig"),
    ],
)
def test_utf16_with_and_without_a_byte_order_mark(codec, name):
    text = "名称\t托位\n蛟川幼儿园\t120\n"
    data = text.encode(codec)
    found = detect_encoding(data)
    assert found.name == name
    assert codecs.decode(data, found.name).lstrip("\ufeff") == text


def test_western_text_is_cp1252():
    text = "name,note\nCrèche Müller,São João\nCafé Noël,Ærø\n"
    found = detect_encoding(text.encode("cp1252"))
    assert found.name == "cp1252" and found.worth_saying
    assert text.encode("cp1252").decode(found.name) == text


def test_declared_encoding_names():
    assert declared_encoding("GBK", "f").name == "gb18030"
    assert declared_encoding("utf8", "f").name == "utf-8"
    assert declared_encoding("Unicode", "f").name == "utf-16"
    with pytest.raises(InputError, match="f: unknown encoding"):
        declared_encoding("EBCDIC-Mars", "f")


@pytest.mark.parametrize(
    "text, value, approx",
    [
        ("７５", 75, False),
        ("1,200", 1200, False),
        ("1，200", 1200, False),
        ("约800", 800, True),
        ("800左右", 800, True),
        ("1.2万", 12000, False),
        ("800人", 800, False),
        ("1200㎡", 1200, False),
        (" 60 ", 60, False),
        ("3.5", 3.5, False),
        ("-", None, False),
        ("", None, False),
        ("—", None, False),
        ("/", None, False),
        (120, 120, False),
        (12.5, 12.5, False),
    ],
)
def test_numbers_as_offices_write_them(text, value, approx):
    assert parse_number(text) == (value, approx)


@pytest.mark.parametrize(
    "text", ["nan", "inf", "-Infinity", "1e400", float("inf"), "800-1000", "很多", "12a34", "1e13"]
)
def test_not_numbers(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_parse_numbers_collects_every_bad_cell_with_rows_and_names():
    problems = Problems("facilities (x)", "k.csv")
    values, _ = parse_numbers(
        pd.Series(["10", "x", "", "inf", "-2"]),
        "托位",
        problems,
        np.array([3, 4, 6, 7, 9]),
        np.array(["a", "b", "c", "d", "e"], dtype=object),
        required=True,
        minimum=0,
    )
    assert values[0] == 10 and np.isnan(values[1:]).all()
    with pytest.raises(InputError) as info:
        problems.raise_if_any()
    text = str(info.value)
    assert text.startswith("facilities (x) k.csv: 4 problems: row 4 (b): 托位 'x'")
    for part in (
        "row 6 (c): 托位 is blank",
        "row 7 (d): 托位 'inf' is NaN or infinite",
        "row 9 (e): 托位 is -2; it must not be negative",
    ):
        assert part in text


def test_more_than_twenty_problems_are_counted(tmp_path):
    problems = Problems("t", "f.csv")
    for k in range(25):
        problems.add(k + 2, "bad")
    with pytest.raises(InputError, match=r"25 problems: .*; and 5 more"):
        problems.raise_if_any()


def test_census_with_merged_cells_two_title_rows_and_a_footnote(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["表1 各街道人口"])
    sheet.append(["单位：人"])
    sheet.append(["街道", "社区", "常住人口"])
    sheet.append(["蛟川街道", "A社区", "1,200"])
    sheet.append([None, "B社区", "８００"])
    sheet.merge_cells("A4:A5")  # 街道 merged over its communities
    sheet.append(["合  计", None, 2000])
    sheet.append(["数据来源：synthetic test data"])
    book.save(tmp_path / "c.xlsx")
    table = read_messy_table(tmp_path / "c.xlsx", "census table")
    assert list(table.frame.columns) == ["街道", "社区", "常住人口"]
    assert table.frame["街道"].tolist() == ["蛟川街道", "蛟川街道"]
    assert table.lines.tolist() == [4, 5]
    values, _ = parse_numbers(table.frame["常住人口"], "常住人口", Problems("t", None), table.lines)
    assert values.tolist() == [1200, 800]
    notes = " ".join(table.notes)
    assert "2 title row(s)" in notes and "total row(s) (合计/总计/小计) dropped (row 6)" in notes
    assert "footnote row(s) dropped (row 7)" in notes


def test_a_table_with_only_a_header(tmp_path):
    (tmp_path / "k.csv").write_text("名称,经度,纬度\n\n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"has no data rows, only a header \(row 1\)"):
        read_messy_table(tmp_path / "k.csv", "facilities (x)")


def test_a_quoted_line_break_keeps_the_row_numbers_of_the_file(tmp_path):
    (tmp_path / "k.csv").write_text('名称,备注\na,"two\nlines"\nb,x\n', encoding="utf-8")
    table = read_messy_table(tmp_path / "k.csv", "t")
    assert table.lines.tolist() == [2, 4]
