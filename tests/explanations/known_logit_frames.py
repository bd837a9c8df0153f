"""Model inputs with numeric, categorical and missing values, and labels drawn from a known logit.

Shared by the explanation tests and their conftest; a module of its own, since
``from conftest import ...`` finds whichever conftest was imported first when
several test folders run in one pytest call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORY_LEVELS = ["none", "early_help", "child_in_need", "looked_after"]
CARE_EFFECT = {"none": 0.0, "early_help": 0.4, "child_in_need": 0.9, "looked_after": 1.5}


def make_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Model inputs (float64 and category, with NaN) and a label drawn from a known logit."""
    rng = np.random.default_rng(seed)
    attendance = rng.uniform(0.4, 1.0, n)
    attendance[rng.random(n) < 0.2] = np.nan  # no school record
    suspensions = rng.poisson(0.6, n).astype(float)
    police = rng.poisson(0.3, n).astype(float)
    imd = rng.integers(1, 11, n).astype(float)
    imd[rng.random(n) < 0.1] = np.nan
    care = pd.Categorical(rng.choice(CATEGORY_LEVELS, n, p=[0.6, 0.2, 0.15, 0.05]), categories=CATEGORY_LEVELS)
    care[rng.random(n) < 0.05] = np.nan
    noise = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "school_attendance_pct": attendance,
            "school_suspensions_12m": suspensions,
            "police_contacts_12m": police,
            "context_imd_decile": imd,
            "ace_care_episode": care,
            "noise": noise,
        }
    )
    logit = (
        -2.5
        + 0.8 * suspensions
        + 0.9 * police
        - 2.0 * np.nan_to_num(attendance - 0.8, nan=-0.1)
        - 0.05 * np.nan_to_num(imd, nan=5.0)
        + pd.Series(care.astype(object)).map(CARE_EFFECT).fillna(0.2).to_numpy(dtype=float)
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y
