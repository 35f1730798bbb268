from django.apps import AppConfig

from dashboard.calls.subjects import register_subject
from dashboard.core.queueing import register_sweeper


class PreviewsConfig(AppConfig):
    name = "dashboard.previews"
    label = "previews"
    verbose_name = "Slot previews"

    def ready(self) -> None:
        # Here, not at the top: the services import models, which load only once the
        # app registry is ready.
        from auditlog.registry import auditlog

        from dashboard.accounts.audit import ACTIONS
        from dashboard.previews.models import CatalogSlot, Label, PublicShareLink
        from dashboard.previews.services.public_links import PUBLIC_LINK_ACTIONS
        from dashboard.previews.services.runs import previews_sweep

        auditlog.register(Label)
        # What staff write; what previews see (versions, last content) changes on every
        # run and is not worth an audit row each time.
        auditlog.register(CatalogSlot, include_fields=["slot_id", "description"])

        register_subject("preview", "previews:detail")
        register_subject("cql_evaluation", "previews:cql_result")
        # Lost previews and evaluations are re-queued by core.sweep (one beat entry).
        register_sweeper("previews.runs")(previews_sweep)
        # Public links are audited (created, revoked) in the same trail as accounts.
        auditlog.register(PublicShareLink)
        ACTIONS.update(PUBLIC_LINK_ACTIONS)
