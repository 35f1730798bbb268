from django.contrib.auth.decorators import permission_required
from django.urls import path

from dashboard.core.roles import perm
from dashboard.core.views import section_pending

app_name = "events"


@permission_required(perm("view_events"), raise_exception=True)
def index(request):
    return section_pending(
        request,
        title="Events",
        issue="#6",
        blurb="The outbox, the live event inspector and replay.",
    )


urlpatterns = [path("", index, name="index")]
