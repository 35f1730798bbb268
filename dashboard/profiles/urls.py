from django.contrib.auth.decorators import permission_required
from django.urls import path

from dashboard.core.roles import perm
from dashboard.core.views import section_pending

app_name = "profiles"


@permission_required(perm("lookup_profiles"), raise_exception=True)
def index(request):
    return section_pending(
        request,
        title="Profiles",
        issue="#7",
        blurb="One customer look-up across providers, browsing and data export.",
    )


urlpatterns = [path("", index, name="index")]
