"""Write contract tables to disk in the contract's format (CSV or Parquet).

The writer is the only code that produces extract files (the synthetic
generator calls it), so everything that reads an extract sees the same
layout: one file per table, contract column order, ISO ``YYYY-MM-DD`` dates,
empty cells for missing values, and an optional ``manifest.json``. The same
frames always give the same bytes. It converts typed values and writes text exactly as
given; it does not validate: run the frames through
:func:`extract.loader.extract_from_frames` when in doubt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from extract.contract import CONTRACT_VERSION, FILE_FORMATS, MANIFEST_FILE, TABLES, UNKNOWN_TABLE, ColumnSpec

UNKNOWN_FORMAT = "unknown format {fmt!r}; use one of: {allowed}"
MISSING_COLUMNS = "table {table!r} lacks contract column(s): {columns}"
OTHER_FORMAT_PRESENT = (
    "{path} already exists; writing {table!r} as {fmt} beside it would leave the table in two "
    "formats, which the loader refuses. Remove it or write to an empty folder."
)
# Characters that force quoting of a CSV cell (RFC 4180).
_STRUCTURAL = '[,"\r\n]'


def write_extract(
    frames: Mapping[str, pd.DataFrame],
    out_dir: str | Path,
    fmt: str = "csv",
    extracted_on: str | pd.Timestamp | None = None,
) -> list[Path]:
    """Write each contract table in ``frames`` to ``out_dir``.

    Parameters
    ----------
    frames : mapping of str to DataFrame
        Contract tables by name; each must hold at least the contract columns
        (extra columns are not written). Dates may be datetime64, date objects or
        text; numbers numeric or text; nullable ints may be float64 with NaN. Text
        cells are written verbatim.
    out_dir : str or Path
        Created if missing.
    fmt : {"csv", "parquet"}
    extracted_on : date-like, optional
        When given, ``manifest.json`` records it as ``{"extracted_on": "YYYY-MM-DD"}``.

    Returns
    -------
    list of Path
        The files written, in contract table order (manifest last).
    """
    if fmt not in FILE_FORMATS:
        raise ValueError(UNKNOWN_FORMAT.format(fmt=fmt, allowed=", ".join(FILE_FORMATS)))
    unknown = [name for name in frames if name not in TABLES]
    if unknown:
        raise ValueError(UNKNOWN_TABLE.format(table=unknown[0], allowed=", ".join(TABLES)))
    out = Path(out_dir)
    written: list[Path] = []
    for name in TABLES:  # contract order, so output does not depend on dict order
        if name not in frames:
            continue
        path = out / f"{name}.{fmt}"
        for other in FILE_FORMATS:
            other_path = out / f"{name}.{other}"
            if other != fmt and other_path.exists():
                raise ValueError(
                    OTHER_FORMAT_PRESENT.format(path=other_path, table=name, fmt=fmt)
                )
        table = _to_arrow(name, frames[name])
        out.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            _write_csv(table, path)
        else:
            _write_parquet(table, path)
        written.append(path)
    if extracted_on is not None:
        out.mkdir(parents=True, exist_ok=True)
        manifest = out / MANIFEST_FILE
        day = pd.Timestamp(extracted_on).strftime("%Y-%m-%d")
        manifest.write_text(json.dumps({"extracted_on": day}) + "\n", encoding="utf-8")
        written.append(manifest)
    return written


def contract_arrow_table(name: str, frame: pd.DataFrame):  # -> pyarrow.Table
    """Table ``name`` of ``frame`` as the Arrow table :func:`write_extract` writes (contract
    columns, order and types); the partitioned writer (extract/partitioned.py) appends these."""
    return _to_arrow(name, frame)


def _to_arrow(name: str, frame: pd.DataFrame):  # -> pyarrow.Table
    import pyarrow as pa

    spec = TABLES[name]
    # A nullable column new in 1.1 that a frame lacks is written empty: the file is 1.1 either way.
    missing = [c.name for c in spec.columns
               if c.name not in frame.columns and not (c.nullable and c.added_in == CONTRACT_VERSION)]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(table=name, columns=", ".join(missing)))
    arrays = [
        _column_to_arrow(frame[col.name], col) if col.name in frame.columns
        else pa.nulls(len(frame), type=_empty_types().get(col.kind, pa.string()))
        for col in spec.columns
    ]
    return pa.table(arrays, names=list(spec.column_names))


def _empty_types():  # -> dict of contract kind to the pyarrow type of an empty column
    import pyarrow as pa

    return {"date": pa.date32(), "int": pa.int64(), "number": pa.float64()}


def _column_to_arrow(values: pd.Series, col: ColumnSpec):  # -> pyarrow.Array
    import pyarrow as pa

    if col.kind in ("date", "int", "number") and _is_text(values):
        # Text is written exactly as given: the writer converts, it never judges (the loader does).
        return _text_to_arrow(values)
    if col.kind == "date":
        if not pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values)  # datetime.date or Timestamp objects
        if values.dt.tz is not None:
            values = values.dt.tz_localize(None)
        # date32 prints as ISO YYYY-MM-DD in CSV and is a DATE in Parquet.
        return pa.array(values, from_pandas=True).cast(pa.date32())
    if col.kind == "int":
        array = pa.array(pd.to_numeric(values), from_pandas=True)
        # Nullable ints live as float64 in memory; on disk they are integers ("3", not "3.0").
        return array.cast(pa.int64())
    if col.kind == "number":
        return pa.array(pd.to_numeric(values), from_pandas=True).cast(pa.float64())
    # id, string and category columns are written as plain text.
    return _text_to_arrow(values)


def _is_text(values: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(values.dtype) and not isinstance(
        values.dtype, pd.CategoricalDtype
    ):
        return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    return False


def _text_to_arrow(values: pd.Series):  # -> pyarrow.Array
    import pyarrow as pa

    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    data = values.to_numpy(dtype=object, na_value=None)
    return pa.array(np.asarray(data, dtype=object), type=pa.string(), from_pandas=True)


def _write_csv(table, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    needs_quotes = any(
        pa.types.is_string(column.type)
        and pc.any(pc.match_substring_regex(column, _STRUCTURAL)).as_py()
        for column in table.columns
    )
    # Unquoted cells keep files small and readable; quote only when a value needs it.
    options = pacsv.WriteOptions(
        include_header=False, quoting_style="needed" if needs_quotes else "none"
    )
    with path.open("wb") as sink:
        # Contract column names are snake_case, so the header never needs quotes.
        sink.write((",".join(table.column_names) + "\n").encode("utf-8"))
        pacsv.write_csv(table, sink, options)


def _write_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    # No pandas metadata and a fixed writer configuration: same frames, same bytes.
    pq.write_table(table, path, compression="zstd", write_statistics=True)
