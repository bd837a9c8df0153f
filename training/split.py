"""Temporal splits: train on earlier periods, choose and calibrate on the next, test on the latest.

Rows are never split at random across time. For annual snapshots the test
period is the latest snapshot whose outcome window is fully observed, the
validation period the one before it and training everything earlier. A
training row is kept only when its outcome window ends on or before the
validation as-of date (and a validation row only when its window ends on or
before the test as-of date), so no label in training looks into a later
period, and a person's future after a test date never reaches training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERIODS = ("train", "validation", "test")

ERR_TOO_FEW_PERIODS = (
    "a temporal split needs at least 3 distinct {what} with observed labels "
    "(train, validation, test); found {found}"
)
ERR_EMPTY_PERIOD = "the {period} period has no rows with a label; use a longer extract or more snapshots"
ONE_CLASS = "the {period} period has only one outcome class ({value}); cannot train or evaluate"


@dataclass(frozen=True)
class SplitSummary:
    """Which dates or values fell in which period (logged as run params)."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def as_params(self) -> dict[str, str]:
        return {f"split_{name}": ",".join(getattr(self, name)) for name in PERIODS}


def snapshot_split(
    as_of: pd.Series, label: pd.Series, horizon_days: int
) -> tuple[pd.Series, SplitSummary]:
    """Assign each snapshot row to ``train``, ``validation``, ``test`` or ``None`` (unused).

    Parameters
    ----------
    as_of : Series of datetime64
        The cohort row's as-of date.
    label : Series of float
        0/1, NaN where the outcome window is not fully observed.
    horizon_days : int
        Length of the outcome window, used to purge overlapping windows.

    Returns
    -------
    period : Series of object, aligned with ``as_of``
    summary : SplitSummary
    """
    as_of = pd.to_datetime(as_of)
    observed = label.notna()
    dates = np.sort(as_of[observed].unique())
    if len(dates) < 3:
        raise ValueError(ERR_TOO_FEW_PERIODS.format(what="snapshot dates", found=len(dates)))
    test_date, validation_date = pd.Timestamp(dates[-1]), pd.Timestamp(dates[-2])
    horizon = pd.Timedelta(days=horizon_days)
    period = pd.Series(None, index=as_of.index, dtype=object)
    period[observed & (as_of == test_date)] = "test"
    period[observed & (as_of == validation_date) & (as_of + horizon <= test_date)] = "validation"
    period[observed & (as_of < validation_date) & (as_of + horizon <= validation_date)] = "train"
    summary = SplitSummary(
        train=tuple(_iso(d) for d in dates[:-2] if pd.Timestamp(d) + horizon <= validation_date),
        validation=(_iso(validation_date),),
        test=(_iso(test_date),),
    )
    _check(period, label)
    return period, summary


def ordered_split(
    order: pd.Series, label: pd.Series, fractions: tuple[float, float] = (0.2, 0.2)
) -> tuple[pd.Series, SplitSummary]:
    """Split a flat table by an ordering column (time): latest values test, the next validation.

    Whole values stay together (all rows of one date land in one period). The
    test period takes the latest values until it holds at least
    ``fractions[1]`` of the rows, the validation period the values before them
    until it holds ``fractions[0]``; training takes the rest.
    """
    observed = label.notna()
    values = np.sort(order[observed].unique())
    if len(values) < 3:
        raise ValueError(ERR_TOO_FEW_PERIODS.format(what="values of the time column", found=len(values)))
    counts = order[observed].value_counts().reindex(values).to_numpy()
    total = counts.sum()
    from_end = np.cumsum(counts[::-1]) / total
    n_test = int(np.searchsorted(from_end, fractions[1]) + 1)
    n_val = int(np.searchsorted(from_end, fractions[1] + fractions[0]) + 1) - n_test
    n_test = min(n_test, len(values) - 2)
    n_val = max(1, min(n_val, len(values) - 1 - n_test))
    test_values = values[len(values) - n_test :]
    val_values = values[len(values) - n_test - n_val : len(values) - n_test]
    train_values = values[: len(values) - n_test - n_val]
    period = pd.Series(None, index=order.index, dtype=object)
    period[observed & order.isin(train_values)] = "train"
    period[observed & order.isin(val_values)] = "validation"
    period[observed & order.isin(test_values)] = "test"
    summary = SplitSummary(
        train=_span(train_values), validation=_span(val_values), test=_span(test_values)
    )
    _check(period, label)
    return period, summary


def group_split(
    groups: pd.Series, label: pd.Series, seed: int, fractions: tuple[float, float] = (0.2, 0.2)
) -> tuple[pd.Series, SplitSummary]:
    """Split a flat table without a time column by whole groups (ids), reproducibly from ``seed``.

    Every row of one id lands in the same period, so a person is never in
    both training and test.
    """
    observed = label.notna()
    unique = np.sort(groups[observed].astype(str).unique())
    draw = pd.Series(np.random.default_rng(seed).random(len(unique)), index=unique)
    u = groups.astype(str).map(draw)
    period = pd.Series(None, index=groups.index, dtype=object)
    period[observed & (u < fractions[1])] = "test"
    period[observed & (u >= fractions[1]) & (u < fractions[0] + fractions[1])] = "validation"
    period[observed & (u >= fractions[0] + fractions[1])] = "train"
    summary = SplitSummary(train=("random ids",), validation=("random ids",), test=("random ids",))
    _check(period, label)
    return period, summary


def _check(period: pd.Series, label: pd.Series) -> None:
    for name in PERIODS:
        values = label[period == name]
        if values.empty:
            raise ValueError(ERR_EMPTY_PERIOD.format(period=name))
        if values.nunique() < 2:
            raise ValueError(ONE_CLASS.format(period=name, value=values.iloc[0]))


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _span(values: np.ndarray) -> tuple[str, ...]:
    def show(v: object) -> str:
        return _iso(v) if isinstance(v, (pd.Timestamp, np.datetime64)) else str(v)

    if len(values) <= 3:
        return tuple(show(v) for v in values)
    return (f"{show(values[0])}..{show(values[-1])}",)
