"""Disclosure control: primary and secondary suppression, no rate for a suppressed
cell, and an attacker who tries to recover suppressed cells from the published tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from extract.disclosure import TOTAL_LABEL, protect_table, suppression_mask

THRESHOLD = 10
# (part, whole) column pairs whose difference is itself a count (ED attendances also in police records).
COMPLEMENTS = (("ed_only_episodes", "ed_episodes"),)


def test_primary_and_secondary_suppression():
    mask = suppression_mask(np.array([3, 40, 25, 60]), THRESHOLD)
    # 3 alone could be recovered from the total, so the next smallest (25) goes too.
    assert mask.tolist() == [True, False, True, False]


def test_suppressed_cells_never_sum_below_the_threshold():
    # Two zeros would be revealed (a suppressed sum of 0 means every cell is 0).
    mask = suppression_mask(np.array([0, 0, 30, 50]), THRESHOLD)
    assert mask.tolist() == [True, True, True, False]


def test_small_total_suppresses_the_whole_group():
    assert suppression_mask(np.array([2, 3, 4]), THRESHOLD).all()


def test_groups_are_protected_separately():
    counts = np.array([5, 50, 60, 20, 30])
    mask = suppression_mask(counts, THRESHOLD, groups=np.array(["a", "a", "a", "b", "b"]))
    assert mask.tolist() == [True, True, False, False, False]


def test_no_rate_for_a_suppressed_count_and_a_protected_total():
    frame = pd.DataFrame({"la": ["x", "y", "z"], "n": [4, 30, 50], "pop": [1000, 2000, 3000]})
    out = protect_table(frame, "n", THRESHOLD, denominator="pop", rate="rate")
    assert out["la"].iloc[-1] == TOTAL_LABEL and out["n"].iloc[-1] == 84
    assert out["n"].isna().tolist() == [True, True, False, False]
    assert out["rate"].isna().tolist() == [True, True, False, False]
    assert out["rate"].iloc[2] == pytest.approx(50 / 3000 * 1000, abs=0.01)


def recoverable_cells(body: pd.DataFrame, count: str, total: float | None) -> list[int]:
    """Rows whose suppressed ``count`` an attacker recovers as a difference of totals:
    the only suppressed cell, or every suppressed cell when they must sum to zero."""
    hidden = body[count].isna().to_numpy()
    if total is None or pd.isna(total) or not hidden.any():
        return []
    rest = float(total) - float(body[count].dropna().sum())
    if hidden.sum() == 1 or rest == 0:
        return list(np.nonzero(hidden)[0])
    return []


def attack(tables: dict[str, pd.DataFrame], groups: dict[str, tuple[str, str, str]], threshold: int) -> list[str]:
    """Every disclosure found in a report's tables (empty = the protection held).

    Checks: a published count below the threshold, directly or as the difference of two
    published columns (``COMPLEMENTS``); a rate or share beside a suppressed count; a suppressed cell recovered from its table's Total row, or from the totals
    of its group given in another table (``groups``: table -> (group column, table of
    group totals, count column)).
    """
    found = []
    for name, table in tables.items():
        counts = [c for c in table.columns if str(table[c].dtype) == "Int64"]
        for c in counts:
            small = table[c].dropna()
            if (small < threshold).any():
                found.append(f"{name}.{c}: published count below {threshold}")
        for rate in [c for c in table.columns if c.startswith("rate") or c.endswith("share")]:
            for c in counts:
                if (table[c].isna() & table[rate].notna()).any():
                    found.append(f"{name}.{rate}: shown for a suppressed {c}")
        for part, whole in COMPLEMENTS:
            if part in table.columns and whole in table.columns:
                rest = table[whole] - table[part]
                if (rest.dropna() < threshold).any():
                    found.append(f"{name}: {whole} - {part} below {threshold}")
        first = table.columns[0]
        if len(table) and table[first].iloc[-1] == TOTAL_LABEL:
            body = table.iloc[:-1]
            for c in counts:
                for row in recoverable_cells(body, c, table[c].iloc[-1]):
                    found.append(f"{name}.{c} row {row}: recovered from the total")
        if name in groups:
            column, other, count = groups[name]
            totals = tables[other].set_index(tables[other].columns[0])[count]
            for key, body in table.groupby(column):
                for row in recoverable_cells(body, count, totals.get(key)):
                    found.append(f"{name}.{count} {key} row {row}: recovered from {other}")
    return found


def test_the_attacker_finds_a_naively_suppressed_cell():
    """The attack can succeed: with primary suppression only, the total gives the cell away."""
    frame = pd.DataFrame({"la": ["x", "y", "z"], "n": [4, 30, 50]})
    naive = frame.assign(n=pd.array([pd.NA, 30, 50], dtype="Int64"))
    naive = pd.concat([naive, pd.DataFrame({"la": [TOTAL_LABEL], "n": pd.array([84], dtype="Int64")})])
    assert attack({"t": naive.reset_index(drop=True)}, {}, THRESHOLD) == ["t.n row 0: recovered from the total"]
    assert attack({"t": protect_table(frame, "n", THRESHOLD)}, {}, THRESHOLD) == []


def test_a_count_and_its_unpublished_complement_are_both_protected():
    """ED-only of ED attendances: police-also = ED - ED-only must not be a small number either."""
    frame = pd.DataFrame({"age": ["a", "b", "c"], "only": [40, 30, 50], "ed": [43, 60, 90]})
    out = protect_table(frame, "only", THRESHOLD, denominator="ed", rate="share", per=1.0, complement=True)
    # Row a: 43 - 40 = 3 attendances also in police records would follow from the two columns.
    assert pd.isna(out["only"].iloc[0]) and pd.isna(out["share"].iloc[0])
    hidden = out["only"].iloc[:-1].isna().to_numpy()
    assert hidden.sum() >= 2
    complement = (frame["ed"] - frame["only"]).to_numpy()
    assert complement[hidden].sum() >= THRESHOLD and frame["only"].to_numpy()[hidden].sum() >= THRESHOLD
