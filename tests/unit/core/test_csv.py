"""CSV for spreadsheets: BOM, CRLF, quoting, and no cell that a spreadsheet would run."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from mobsrc.core.csv import BOM, csv_document, csv_lines, excel_safe


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\r=1",
                                  "=cmd|' /C calc'!A0"])
def test_formula_like_text_is_made_inert(text):
    assert excel_safe(text) == "'" + text


@pytest.mark.parametrize("value, expected", [
    (None, ""), ("贵A12345", "贵A12345"), ("a=b", "a=b"), (-3, -3), (Decimal("200.00"), Decimal("200.00")),
    (106.5, 106.5), (True, "true"), (date(2026, 1, 2), "2026-01-02"),
])
def test_other_values_pass_unchanged(value, expected):
    assert excel_safe(value) == expected


def test_lines_quote_separators_and_end_in_crlf():
    text = csv_lines([["a,b", 'say "hi"', "line\nbreak", 1]])
    assert text == '"a,b","say ""hi""","line\nbreak",1\r\n'
    assert next(csv.reader(io.StringIO(text))) == ["a,b", 'say "hi"', "line\nbreak", "1"]


def test_document_starts_with_bom_and_header_then_one_chunk_per_batch():
    chunks = list(csv_document(["plate", "note"], [[("贵A1", "=1")], [], [("贵A2", "ok"), ("贵A3", None)]]))
    assert chunks[0] == (BOM + "plate,note\r\n").encode("utf-8")
    assert chunks[1:] == ["贵A1,'=1\r\n".encode(), "贵A2,ok\r\n贵A3,\r\n".encode()]
    decoded = b"".join(chunks).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(decoded)))[1] == ["贵A1", "'=1"]
