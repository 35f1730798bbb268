from django.urls import NoReverseMatch, reverse

from dashboard.core.roles import NAVIGATION, perm, request_role


def navigation(request):
    """The navigation entries this user may open, and the current section."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_role": None}
    items = []
    for item in NAVIGATION:
        if not user.has_perm(perm(item.permission)):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append(
            {
                "label": item.label,
                "url": url,
                "active": request.path == url or request.path.startswith(url) and url != "/",
            }
        )
    return {"nav_items": items, "user_role": request_role(request)}
