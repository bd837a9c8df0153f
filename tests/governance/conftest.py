"""One trained, gated, published version for the governance tests (built once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def gated_champion(tmp_path_factory: pytest.TempPathFactory, small_champion_builder):
    # 30 resamples: enough for the papers to carry intervals, few enough to stay quick.
    return small_champion_builder(tmp_path_factory.mktemp("governance_champion"), resamples=30)


@pytest.fixture
def champion_store(gated_champion, monkeypatch: pytest.MonkeyPatch):
    """Point this test's MLflow (and the service settings' home) at the gated champion's store."""
    for name, value in gated_champion.store_env.items():
        monkeypatch.setenv(name, value)
    return gated_champion
