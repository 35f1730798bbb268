"""Writes of the previews app, one module per job (HackSoft's services, split):

- ``checks``   what every request is checked against; the ``Visitor``
- ``previews`` one content fetch: create, re-run, run
- ``grids``    persona x locale grids of previews
- ``personas`` visitor presets
- ``cql``      CQL evaluations
- ``runs``     the work-row pattern: claim, attempt cap, the sweeper
- ``public_links`` links that open without a login: create, revoke, open
- ``catalog``  the slot catalog: slots seen, seeded and added by staff
- ``labels``   names for experience, audience, experiment and variant ids

The names callers use are re-exported here (``services.preview_create``).
Tasks import these modules; these modules never import tasks (they enqueue by
task name through ``dashboard.core.queueing``).
"""

from dashboard.previews.visitors import VisitorInputError

from .catalog import (
    catalog_record_preview,
    catalog_seed,
    catalog_slot_remove,
    catalog_slot_save,
)
from .checks import Visitor, visitor_for
from .cql import MAX_QUERY_LENGTH, evaluation_create, evaluation_run
from .grids import grid_create, grid_set_baseline
from .labels import LabelSaved, label_remove, label_save
from .personas import persona_delete, persona_save
from .previews import preview_create, preview_rerun, preview_run
from .public_links import (
    PublicLinkRefused,
    expiry_day_choices,
    public_link_create,
    public_link_open,
    public_link_revoke,
)
from .runs import MAX_ATTEMPTS, previews_requeue_stale

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_QUERY_LENGTH",
    "PublicLinkRefused",
    "LabelSaved",
    "Visitor",
    "VisitorInputError",
    "catalog_record_preview",
    "catalog_seed",
    "catalog_slot_remove",
    "catalog_slot_save",
    "evaluation_create",
    "evaluation_run",
    "expiry_day_choices",
    "grid_create",
    "grid_set_baseline",
    "label_remove",
    "label_save",
    "persona_delete",
    "persona_save",
    "preview_create",
    "preview_rerun",
    "preview_run",
    "previews_requeue_stale",
    "public_link_create",
    "public_link_open",
    "public_link_revoke",
    "visitor_for",
]
