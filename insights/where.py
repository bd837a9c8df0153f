"""Where: recorded serious violence per 1,000 young people by local authority, area and
deprivation, and how concentrated it is across areas.

The concentration of observed counts is inflated by chance when areas see few
episodes (the busiest areas are partly the luckiest), and a ranking made on
one half of the episodes and measured on the other is deflated by the same noise.
The report gives both and takes the interval from the lower bootstrap bound of the
split-half share to the upper bootstrap bound of the observed share (bootstrap over
areas), so the interval brackets the concentration of the underlying rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from extract.concentration import concentration_curve, gini, top_share
from extract.disclosure import protect_table

TOP_FRACTION = 0.10
UNKNOWN_DECILE = "unknown"


@dataclass
class WhereResult:
    by_authority: pd.DataFrame
    by_deprivation: pd.DataFrame
    by_area: pd.DataFrame | None = None
    top_areas: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    concentration: dict = field(default_factory=dict)


def _counts(values: pd.Series, labels: pd.Index) -> np.ndarray:
    return values.value_counts().reindex(labels, fill_value=0).to_numpy(dtype=np.int64)


def _decile_labels(values: pd.Series) -> pd.Series:
    """IMD deciles as text labels, "unknown" where not recorded."""
    numbers = pd.to_numeric(values, errors="coerce")
    return pd.Series(np.where(numbers.isna(), UNKNOWN_DECILE, numbers.fillna(0).astype(int).astype(str)), dtype=object)


def split_half_share(counts_a: np.ndarray, counts_b: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Share of half B in the top areas ranked on half A, averaged with the reverse."""
    n = len(counts_a)
    k = max(1, int(np.ceil(fraction * n - 1e-9)))
    shares = []
    for rank_on, measure in ((counts_a, counts_b), (counts_b, counts_a)):
        total = measure.sum()
        if total <= 0:
            continue
        # Ties broken by the area's order, the same in both directions.
        top = np.argsort(-rank_on, kind="stable")[:k]
        shares.append(measure[top].sum() / total)
    return float(np.mean(shares)) if shares else float("nan")


def concentration(
    counts: np.ndarray, halves: np.ndarray, replicates: int, seed: int, fraction: float = TOP_FRACTION
) -> dict:
    """Observed and split-half top-``fraction`` shares, Gini, and the bracketing interval.

    ``counts`` are episodes per area and ``halves`` the same split into two random
    halves (shape (2, areas)). The bootstrap resamples areas with replacement.
    """
    rng = np.random.default_rng(seed)
    n = len(counts)
    boot_top, boot_split, boot_gini = [], [], []
    for _ in range(replicates):
        pick = rng.integers(0, n, n)
        boot_top.append(top_share(counts[pick], fraction))
        boot_split.append(split_half_share(halves[0][pick], halves[1][pick], fraction))
        boot_gini.append(gini(counts[pick]))
    return {
        "areas": int(n),
        "top_fraction": fraction,
        "observed_top_share": top_share(counts, fraction),
        "split_half_top_share": split_half_share(halves[0], halves[1], fraction),
        "interval": [float(np.nanpercentile(boot_split, 2.5)), float(np.nanpercentile(boot_top, 97.5))],
        "gini": gini(counts),
        "gini_interval": [float(np.nanpercentile(boot_gini, 2.5)), float(np.nanpercentile(boot_gini, 97.5))],
        "replicates": int(replicates),
    }


def where(
    episodes: pd.DataFrame,
    young: pd.DataFrame,
    *,
    threshold: int,
    top_areas: int,
    replicates: int,
    seed: int,
    has_area: bool,
) -> WhereResult:
    """The place tables (published form: suppressed) for episodes in the lookback window."""
    authorities = pd.Index(sorted(set(young["local_authority"]) | set(episodes["local_authority"].dropna())))
    by_la = pd.DataFrame(
        {
            "local_authority": authorities,
            "episodes": _counts(episodes["local_authority"], authorities),
            "young_people": _counts(young["local_authority"], authorities),
        }
    )
    by_la = protect_table(by_la, "episodes", threshold, denominator="young_people", rate="rate_per_1000")
    # An "unknown" row keeps this table's total equal to the authority table's, so that
    # their difference cannot publish a small count of episodes with no deprivation decile.
    deciles = pd.Index([str(d) for d in range(1, 11)] + [UNKNOWN_DECILE])
    by_imd = pd.DataFrame(
        {
            "imd_decile": deciles,
            "episodes": _counts(_decile_labels(episodes["imd_decile"]), deciles),
            "young_people": _counts(_decile_labels(young["imd_decile"]), deciles),
        }
    )
    by_imd = protect_table(by_imd, "episodes", threshold, denominator="young_people", rate="rate_per_1000")
    result = WhereResult(by_authority=by_la, by_deprivation=by_imd)
    if not has_area:
        return result
    # Areas are the young people's home areas (each belongs to one authority); an
    # episode counts where it happened.
    homes = young.dropna(subset=["area_code"]).groupby("area_code")["local_authority"].first()
    placed = episodes.dropna(subset=["area_code"])
    codes = pd.Index(sorted(set(homes.index) | set(placed["area_code"])))
    area_la = pd.Series(homes.reindex(codes).to_numpy(dtype=object), index=codes)
    happened_la = placed.groupby("area_code")["local_authority"].agg(lambda s: s.mode().iat[0])
    area_la = area_la.fillna(happened_la.reindex(codes))
    counts = _counts(placed["area_code"], codes)
    raw = pd.DataFrame(
        {
            "area_code": codes,
            "local_authority": area_la.to_numpy(dtype=object),
            "episodes": counts,
            "young_people": _counts(young["area_code"].dropna(), codes),
        }
    )
    # Each authority's area counts sum to a figure other tables could give, so each
    # authority is a group for secondary suppression.
    by_area = protect_table(
        raw, "episodes", threshold, denominator="young_people", rate="rate_per_1000",
        group="local_authority", total=False,
    )
    rng = np.random.default_rng(seed)
    half = rng.random(len(placed)) < 0.5
    halves = np.stack([_counts(placed["area_code"][half], codes), _counts(placed["area_code"][~half], codes)])
    result.by_area = by_area
    result.concentration = concentration(counts, halves, replicates, seed)
    # Counts published with the same threshold (None below it), and both or neither, since
    # either follows from the other and the authority table's total.
    unplaced = len(episodes) - len(placed)
    shown = len(placed) >= threshold and unplaced >= threshold
    result.concentration["placed_episodes"] = int(len(placed)) if shown else None
    result.concentration["episodes_without_place"] = int(unplaced) if shown else None
    published = by_area.dropna(subset=["episodes"]).sort_values(["episodes", "area_code"], ascending=[False, True])
    result.top_areas = published.head(top_areas).reset_index(drop=True)
    area_share, count_share = concentration_curve(counts)
    steps = np.linspace(0.0, 1.0, 21)
    # Published at 5% steps of areas (never per area), rounded, so that the curve cannot
    # be differenced back to one area's count.
    result.curve = pd.DataFrame(
        {
            "share_of_areas": steps,
            "share_of_episodes": np.round(np.interp(steps, area_share, count_share), 3),
        }
    )
    return result
