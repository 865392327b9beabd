"""CSV for spreadsheet programs: UTF-8 with a byte-order mark (so Excel and WPS read Chinese),
CRLF line ends, and cells that cannot run as formulas. Pure.

Formula (CSV) injection: a text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage
return is evaluated by spreadsheet programs (`=HYPERLINK(...)`, `=cmd|...`). Such cells are
prefixed with a single quote (OWASP's recommendation), which the spreadsheet shows as text and
hides. Only text is guarded: numbers the exporter formats itself (coordinates, amounts) are
written as numbers.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def excel_safe(value) -> str | int | float | Decimal:
    """One cell: None -> empty, numbers as they are, text guarded against formula evaluation."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_lines(rows: Iterable[Sequence]) -> str:
    """Rows -> CSV text (quoted where needed, CRLF), every cell passed through `excel_safe`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([excel_safe(v) for v in row] for row in rows)
    return buffer.getvalue()


def csv_document(header: Sequence[str], batches: Iterable[Iterable[Sequence]]) -> Iterator[bytes]:
    """A streamed document: the BOM and header first, then one encoded chunk per batch of rows."""
    yield (BOM + csv_lines([header])).encode("utf-8")
    for batch in batches:
        text = csv_lines(batch)
        if text:
            yield text.encode("utf-8")
