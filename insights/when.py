"""When: monthly series of weapon-related offences and ED assault attendances, their
seasonal decomposition (STL) and a forecast with intervals, and the peak months.

Only complete months before the as-of date are used. What is published of a series is
its suppressed monthly counts, the STL trend and seasonal components (rounded, and blank
for a suppressed month; the remainder is never published, since trend + seasonal +
remainder is the count), the seasonal profile by calendar month, and the forecast with
its interval.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from extract.disclosure import protect_table

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
MIN_MONTHS = 36  # three seasonal cycles: fewer cannot separate season from trend
TOO_SHORT = "{name}: {months} complete months (at least {need} are needed for a seasonal decomposition)"
TOO_FEW = "{name}: no month reaches {threshold} records, too few to decompose without disclosing"


@dataclass
class SeriesResult:
    name: str
    published: pd.DataFrame  # month, count (suppressed), trend, seasonal
    forecast: pd.DataFrame | None = None  # month, forecast, lower, upper
    peak_months: list[str] = field(default_factory=list)
    lowest_months: list[str] = field(default_factory=list)
    seasonal_by_month: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def monthly_counts(dates: pd.Series, months: pd.DatetimeIndex) -> pd.Series:
    """Records per calendar month over ``months`` (first days)."""
    starts = pd.Series(pd.to_datetime(dates.to_numpy())).dt.to_period("M").dt.to_timestamp()
    return starts.value_counts().reindex(months, fill_value=0).astype(np.int64)


def seasonal_profile(seasonal: pd.Series) -> dict[str, float]:
    """Mean STL seasonal component by calendar month."""
    by_month = seasonal.groupby(seasonal.index.month).mean()
    return {MONTHS[m - 1]: float(by_month.get(m, np.nan)) for m in range(1, 13)}


def peak_and_low(profile: dict[str, float], k: int = 3) -> tuple[list[str], list[str]]:
    """The ``k`` highest and lowest months of a seasonal profile, in calendar order."""
    ranked = sorted(profile, key=profile.get, reverse=True)
    order = {name: i for i, name in enumerate(MONTHS)}
    return sorted(ranked[:k], key=order.get), sorted(ranked[-k:], key=order.get)


def analyse_series(
    name: str, counts: pd.Series, *, threshold: int, horizon: int, interval: float
) -> SeriesResult:
    """Suppress, decompose and forecast one monthly series."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.seasonal import STL

    table = pd.DataFrame({"month": counts.index.strftime("%Y-%m"), "count": counts.to_numpy()})
    published = protect_table(table, "count", threshold)
    result = SeriesResult(name=name, published=published)
    if len(counts) < MIN_MONTHS:
        result.notes.append(TOO_SHORT.format(name=name, months=len(counts), need=MIN_MONTHS))
        return result
    if counts.max() < threshold:
        result.notes.append(TOO_FEW.format(name=name, threshold=threshold))
        return result
    y = counts.astype(float).asfreq("MS")
    stl = STL(y, period=12, robust=True).fit()
    months = len(y)
    # Blank where the count is suppressed: trend + seasonal would approximate it.
    hidden = published["count"].isna().to_numpy()[:-1]
    result.published["trend"] = list(np.where(hidden, np.nan, np.round(stl.trend.to_numpy(), 1))) + [None]
    result.published["seasonal"] = list(np.where(hidden, np.nan, np.round(stl.seasonal.to_numpy(), 1))) + [None]
    result.seasonal_by_month = seasonal_profile(stl.seasonal)
    result.peak_months, result.lowest_months = peak_and_low(result.seasonal_by_month)
    # Captured, not hidden: the optimiser's warnings go into the report's notes.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted = ETSModel(y, error="add", trend="add", damped_trend=True, seasonal="add", seasonal_periods=12).fit(
            disp=False
        )
        prediction = fitted.get_prediction(start=months, end=months + horizon - 1)
        frame = prediction.summary_frame(alpha=1.0 - interval)
    for warning in caught:
        result.notes.append(f"{name}: forecast model: {warning.message}")
    lower = frame["pi_lower"].to_numpy()
    result.forecast = pd.DataFrame(
        {
            "month": frame.index.strftime("%Y-%m"),
            "forecast": np.round(np.maximum(frame["mean"].to_numpy(), 0.0), 1),
            "lower": np.round(np.maximum(lower, 0.0), 1),
            "upper": np.round(np.maximum(frame["pi_upper"].to_numpy(), 0.0), 1),
        }
    )
    if (lower < 0).any():
        result.notes.append(f"{name}: forecast interval bounds below zero are shown as 0")
    return result
