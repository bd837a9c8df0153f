"""Tamper evidence for the audit trail: each row carries the hash of the row before (issue 19).

One chain per table (``score_audit``, ``reviews``, ``access_log``), in the order the
rows were appended (``chain_seq`` 1, 2, 3, ...). A row's ``row_hash`` is the SHA-256
of its canonical serialisation, which includes ``chain_seq`` and ``prev_hash`` (the
``row_hash`` of the row before; 64 zeros for the first). Editing a row breaks its own
hash; deleting or inserting one breaks the sequence or the next row's link. Rewriting
every row from some point on (recomputing the hashes) keeps the chain whole, which is
why the service writes the chain's head to its log at intervals: a head the database
no longer reaches shows the rewrite (:func:`heads_not_reached`).

The serialisation is back-end neutral, so a trail copied from SQLite to PostgreSQL
keeps its hashes: JSON with sorted keys of every column except ``row_hash`` whose value
is not NULL (so a column added by a later migration leaves older rows' hashes valid),
times as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, dates ISO, floats by ``repr``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS_HASH = "0" * 64
SEQ_COLUMN = "chain_seq"
PREV_COLUMN = "prev_hash"
HASH_COLUMN = "row_hash"
# The service log line :func:`parse_heads` reads back; one per chained table.
HEAD_LOG_LINE = "audit chain head: table={table} rows={rows} sha256={sha256}"
HEAD_LOG_PATTERN = re.compile(r"audit chain head: table=(\w+) rows=(\d+) sha256=([0-9a-f]{64})")

ERR_CHANGED = "{table}: row {seq} ({key}) does not match its hash: it was changed"
ERR_MISSING = "{table}: row {seq} ({key}) follows row {before}: {gap} row(s) before it were deleted"
ERR_INSERTED = "{table}: row {seq} ({key}) is out of sequence after row {before}: it was inserted"
ERR_LINK = "{table}: row {seq} ({key}) does not carry the hash of row {before}: a row was inserted or replaced"
ERR_HEAD_MISSING = "{table}: the logged head at row {rows} is no longer reached: the table ends at row {last}"
ERR_HEAD_CHANGED = "{table}: row {rows} is not the row whose hash was logged: the trail was rewritten"


@dataclass(frozen=True)
class ChainHead:
    """The last row of one table's chain: its sequence number (the row count) and hash."""

    table: str
    rows: int
    sha256: str

    def log_line(self) -> str:
        return HEAD_LOG_LINE.format(table=self.table, rows=self.rows, sha256=self.sha256)


def _canonical_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        # SQLite hands back naive datetimes; the trail writes UTC only.
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_hash(row: Mapping[str, object]) -> str:
    """SHA-256 (hex) of ``row``'s canonical serialisation (``row_hash`` itself left out)."""
    canonical = {
        name: _canonical_value(value)
        for name, value in row.items()
        if name != HASH_COLUMN and value is not None
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chained(rows: Iterable[dict[str, object]], last_seq: int, last_hash: str) -> list[dict[str, object]]:
    """``rows`` given the next sequence numbers after ``last_seq``, each linked to the one before."""
    out = []
    for row in rows:
        last_seq += 1
        linked = {**row, SEQ_COLUMN: last_seq, PREV_COLUMN: last_hash}
        last_hash = row_hash(linked)
        out.append({**linked, HASH_COLUMN: last_hash})
    return out


def first_break(table: str, key_column: str, rows: Iterable[Mapping[str, object]]) -> str | None:
    """The first row of ``rows`` (in ``chain_seq`` order) that breaks the chain, described; else None."""
    before_seq, before_hash = 0, GENESIS_HASH
    for row in rows:
        seq, where = row[SEQ_COLUMN], {"table": table, "seq": row[SEQ_COLUMN], "key": row[key_column]}
        # SQLite stores whatever number an attacker writes (2.5 sorts between 2 and 3).
        if not isinstance(seq, int) or seq <= before_seq:
            return ERR_INSERTED.format(**where, before=before_seq)
        if seq > before_seq + 1:
            return ERR_MISSING.format(**where, before=before_seq, gap=seq - before_seq - 1)
        if row_hash(row) != row[HASH_COLUMN]:
            return ERR_CHANGED.format(**where)
        if row[PREV_COLUMN] != before_hash:
            return ERR_LINK.format(**where, before=before_seq)
        before_seq, before_hash = seq, row[HASH_COLUMN]
    return None


def parse_heads(log_text: str) -> list[ChainHead]:
    """Every chain head written to a service log, in the order logged."""
    return [ChainHead(t, int(n), h) for t, n, h in HEAD_LOG_PATTERN.findall(log_text)]


def heads_not_reached(
    logged: Iterable[ChainHead], hash_at: Mapping[str, Mapping[int, str]], last_rows: Mapping[str, int]
) -> list[str]:
    """Each logged head the database no longer reaches, described.

    ``hash_at`` maps a table to the hashes of (at least) the logged rows by sequence
    number; ``last_rows`` maps it to its last sequence number.
    """
    problems = []
    for head in logged:
        if head.rows == 0:  # an empty table's head: every chain starts there
            continue
        hashes = hash_at.get(head.table, {})
        if head.rows not in hashes:
            last = last_rows.get(head.table, 0)
            problems.append(ERR_HEAD_MISSING.format(table=head.table, rows=head.rows, last=last))
        elif hashes[head.rows] != head.sha256:
            problems.append(ERR_HEAD_CHANGED.format(table=head.table, rows=head.rows))
    return problems
