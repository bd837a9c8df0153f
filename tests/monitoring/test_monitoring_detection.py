"""Each shift of the population or its records is detected on 10 seeds of 10; no shift, no alert on 9 of 10.

The monitor's own input-drift analysis (monitoring.shift_check) on monthly
snapshots every three months from the shift date, against a reference built
as training builds it. Shifts are applied after generation, so one extract
per seed serves every kind.
"""

from __future__ import annotations

import pytest

from monitoring.policy import load_policy
from monitoring.shift_check import DRIFT_KINDS, NO_SHIFT, rates, run_trials

pytestmark = pytest.mark.slow
SEEDS = list(range(1, 11))


@pytest.fixture(scope="module")
def trials():
    return run_trials(SEEDS, people=2000, reference_seed=100, policy=load_policy().drift, every_months=3)


@pytest.mark.parametrize("kind", DRIFT_KINDS)
def test_each_shift_is_detected_on_every_seed(trials, kind):
    missed = [t.seed for t in trials if t.kind == kind and not t.detected]
    assert not missed, f"{kind} not detected on seeds {missed}"
    assert rates(trials)["detection_rate"][kind] == 1.0


def test_no_shift_no_alert_on_nine_seeds_of_ten(trials):
    unshifted = [t for t in trials if t.kind == NO_SHIFT]
    assert len(unshifted) == len(SEEDS)
    assert sum(t.detected for t in unshifted) >= 9, rates(trials)["false_alarms"]
    assert rates(trials)["false_alarm_rate"] <= 0.1
