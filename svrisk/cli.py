"""The ``svrisk`` console command.

Each stage package contributes a Typer sub-app from its own ``cli`` module;
this file only assembles them. Stage CLIs import heavy libraries (MLflow,
LightGBM, BentoML) inside their commands so that ``svrisk --help`` stays fast.
"""

from __future__ import annotations

import typer

from evaluation.cli import app as evaluation_app
from explanations.cli import app as explanations_app
from extract.cli import app as extract_app
from extract.contract_markdown import app as contract_app
from extract.synthetic.cli import app as synthetic_app
from fairness.cli import app as fairness_app
from features.cli import app as features_app
from insights.cli import app as insights_app
from monitoring.cli import app as monitoring_app
from governance.cli import app as governance_app
from serving.audit_trail_cli import app as audit_trail_app
from serving.cli import app as serving_app
from training.cli import app as training_app

app = typer.Typer(
    name="svrisk",
    help=(
        "Explained, fairness-gated risk stratification for serious-violence prevention. "
        "A score supports a practitioner's judgement; it never decides."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Order here is the order of the pipeline, and of `svrisk --help`.
for stage_app in (
    synthetic_app,
    extract_app,
    contract_app,
    features_app,
    training_app,
    explanations_app,
    fairness_app,
    serving_app,
    insights_app,
    evaluation_app,
    monitoring_app,
    governance_app,
):
    app.add_typer(stage_app)
app.add_typer(audit_trail_app, name="audit-trail")


if __name__ == "__main__":  # pragma: no cover
    app()
