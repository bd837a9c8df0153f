"""Only the gated champion with an intact artifact is served; anything else is refused clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.errors import ModelRefused
from serving.model_loader import BENTO_MODEL_NAME, load_served_model
from serving.settings import ServingSettings

pytestmark = [pytest.mark.slow]


@pytest.fixture
def ungated_version(store) -> str:
    """A second version of the same artifact, registered without the gate's tags."""
    from mlflow import MlflowClient

    client = MlflowClient()
    first = client.get_model_version("svrisk", "1")
    return client.create_model_version("svrisk", source=first.source, run_id=first.run_id).version


def test_serving_loads_the_verified_champion(store) -> None:
    served = load_served_model(ServingSettings.from_env())
    assert served.version == "1" and served.card["alias"] == "champion"
    assert served.card["gate"]["passed"] == "true"
    assert len(served.card["bands"]) == 10 and served.card["reference_size"] > 100
    assert served.example_case is not None and "person" in served.example_case


def test_serving_refuses_what_must_not_be_served(store, ungated_version: str) -> None:
    from mlflow import MlflowClient

    with pytest.raises(ModelRefused, match="has not passed the fairness gate"):
        load_served_model(ServingSettings.from_env({**os.environ, "SVRISK_MODEL_VERSION": ungated_version}))
    with pytest.raises(ModelRefused, match="no version behind alias 'retired'"):
        load_served_model(ServingSettings.from_env({**os.environ, "SVRISK_MODEL_ALIAS": "retired"}))
    with pytest.raises(ModelRefused, match="has no version 99"):
        load_served_model(ServingSettings.from_env({**os.environ, "SVRISK_MODEL_VERSION": "99"}))
    client = MlflowClient()
    client.set_model_version_tag("svrisk", ungated_version, "gate.passed", "true")
    client.set_model_version_tag("svrisk", ungated_version, "artifact_sha256", "0" * 64)
    # Tags set by hand carry no signed verdict (tests/serving/test_serving_signed_verdict.py has the rest).
    with pytest.raises(ModelRefused, match="has no signed gate record"):
        load_served_model(ServingSettings.from_env({**os.environ, "SVRISK_MODEL_VERSION": ungated_version}))


def test_serving_cli_refuses_to_start_with_a_clear_message(store, ungated_version: str) -> None:
    from svrisk.cli import app

    result = CliRunner().invoke(
        app, ["serve", "--version", ungated_version],
        env={"SVRISK_API_KEYS": json.dumps([{"name": "a", "role": "admin", "sha256": "a" * 64}])},
    )  # fmt: skip
    assert result.exit_code == 1
    assert "not passed the fairness gate" in result.output
    assert "Traceback" not in result.output
    no_keys = CliRunner().invoke(app, ["serve"], env={"SVRISK_API_KEYS": "", "SVRISK_API_KEYS_FILE": ""})
    assert no_keys.exit_code == 1 and "no API keys configured" in no_keys.output


def test_serving_key_command_prints_a_usable_entry() -> None:
    import yaml

    from serving.api_keys import KeyRing
    from svrisk.cli import app

    result = CliRunner().invoke(app, ["serve-key", "--name", "a.smith", "--role", "ethics_panel"])
    assert result.exit_code == 0
    key = result.output.split("shown once): ")[1].split()[0]
    entry = result.output.split("(under `keys:`):\n")[1]
    ring = KeyRing.from_sources(None, json.dumps(yaml.safe_load(entry)))
    assert ring.authenticate(key).role == "ethics_panel"
    assert CliRunner().invoke(app, ["serve-key", "--name", "x", "--role", "boss"]).exit_code == 1


def test_serving_bento_build_includes_the_model(store, tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml")}
    svrisk = str(Path(sys.executable).with_name("svrisk"))
    done = subprocess.run(
        [svrisk, "serve-package"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bentos = list((tmp_path / "bentoml" / "bentos" / "svrisk").glob("*/bento.yaml"))
    assert len(bentos) == 1
    import yaml

    info = yaml.safe_load(bentos[0].read_text())
    assert [m["tag"].split(":")[0] for m in info["models"]] == [BENTO_MODEL_NAME]
    assert any(e["name"] == "SVRISK_MODEL_SOURCE" and e["value"] == "bento" for e in info["envs"])
    bento_dir = bentos[0].parent
    assert (bento_dir / "src" / "serving" / "service.py").is_file()
    # Only the service's code and dependencies (bentofile.yaml; static checks in test_serving_bento.py).
    shipped = sorted(p.relative_to(bento_dir / "src").as_posix() for p in (bento_dir / "src").rglob("*.py"))
    assert {p.split("/")[0] for p in shipped} == {"extract", "features", "runtime", "registry", "serving"}
    assert not [p for p in shipped if p.endswith("/cli.py")]
    requirements = (bento_dir / "env" / "python" / "requirements.txt").read_text().lower()
    assert "lightgbm" in requirements
    # jinja2 is shipped on purpose: the workspace's pages are its templates.
    assert not [name for name in ("fairlearn", "matplotlib", "shap", "typer") if name in requirements]
    assert "jinja2" in requirements and "itsdangerous" in requirements
    workspace = bento_dir / "src" / "serving" / "workspace"
    assert (workspace / "templates" / "result.html").is_file() and (workspace / "static" / "workspace.css").is_file()
