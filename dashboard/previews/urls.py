from django.contrib.auth.decorators import permission_required
from django.urls import path

from dashboard.core.roles import perm
from dashboard.core.views import section_pending

app_name = "previews"


@permission_required(perm("view_previews"), raise_exception=True)
def index(request):
    return section_pending(
        request,
        title="Preview",
        issue="#5",
        blurb="Slot previews per persona, locale and context, the preview grid, "
        "share links and the CQL playground.",
    )


urlpatterns = [path("", index, name="index")]
