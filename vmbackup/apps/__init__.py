"""What-if apps: ipywidgets wired to the models, one module per topic.

Each app has a pure update function that turns control values into what is shown (a result,
HTML, and a chart drawn into the axes it is given); the widget only calls it, so tests can call
it too. An app builds its figure once and its chart moves the artists in place on every change.
Errors from the models are shown in the app's output area as the message, never a traceback.
"""

from __future__ import annotations

from vmbackup.apps._form import error_html
from vmbackup.apps.billing import (
    billing_whatif_app,
    billing_whatif_update,
    lifecycle_app,
    lifecycle_update,
)
from vmbackup.apps.capacity import premium_space_app, premium_space_update
from vmbackup.apps.churn import churn_app, churn_update
from vmbackup.apps.consistency import (
    ANY,
    consistency_app,
    consistency_report,
    decision_table_app,
    filter_decisions,
)
from vmbackup.apps.fleet import fleet_app, fleet_update
from vmbackup.apps.policy import policy_app, policy_update
from vmbackup.apps.restore import restore_app, restore_update
from vmbackup.apps.table import Table, table_html
from vmbackup.apps.transfer import transfer_app, transfer_update

__all__ = [
    "ANY",
    "Table",
    "billing_whatif_app",
    "billing_whatif_update",
    "churn_app",
    "churn_update",
    "consistency_app",
    "consistency_report",
    "decision_table_app",
    "error_html",
    "filter_decisions",
    "fleet_app",
    "fleet_update",
    "lifecycle_app",
    "lifecycle_update",
    "policy_app",
    "policy_update",
    "premium_space_app",
    "premium_space_update",
    "restore_app",
    "restore_update",
    "table_html",
    "transfer_app",
    "transfer_update",
]
