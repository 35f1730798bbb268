"""Every named URL of the project is covered by a role x URL matrix.

The matrices live next to each app's tests and have different shapes; a small adapter
per file turns each into the set of url names it checks. A new route that no matrix
mentions fails here until someone decides who may open it.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.urls import URLPattern, URLResolver, get_resolver, resolve

# Not staff pages: Django's own admin, the provider emulators, the login flow, probes.
EXEMPT_NAMESPACES = {"admin"}
EXEMPT_NAMES = {"sandbox", "sandbox_root", "login", "logout", "healthz", "favicon", "static"}
# allauth's names for the same /login/ and /logout/ routes.
EXEMPT_NAMES |= {"account_login", "account_logout"}


def project_url_names(patterns=None, prefix: str = "") -> set[str]:
    """Every named pattern of the URLconf, namespaced like ``reverse`` wants it."""
    names: set[str] = set()
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            namespace = entry.namespace
            if namespace in EXEMPT_NAMESPACES:
                continue
            inner = f"{prefix}{namespace}:" if namespace else prefix
            names |= project_url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            if entry.name in EXEMPT_NAMES and not prefix:
                continue
            names.add(f"{prefix}{entry.name}")
    return names


# --- one adapter per matrix file ------------------------------------------------------
def _core() -> set[str]:
    from tests.core import test_permissions as m

    return {row[0] for row in (*m.MATRIX, *m.POST_MATRIX)}


def _rotation() -> set[str]:
    from tests.accounts import test_rotation_permissions as m

    return {name for name, _ in (*m.GET_MATRIX, *m.POST_MATRIX)}


def _calls() -> set[str]:
    from tests.calls import test_group_permissions as m

    return {row[0] for row in (*m.GET_MATRIX, *m.POST_MATRIX)}


def _previews() -> set[str]:
    from tests.previews import test_permissions as m

    rows = (*m.GET_MATRIX, *m.POST_MATRIX, *m.READ_POST_MATRIX, *m.PUBLIC_GET)
    return {row[0] for row in rows}


def _events() -> set[str]:
    from tests.events import test_permissions as m

    # matrix(...) builds rows from an event id: (method, name, args, data, expected).
    return {row[1] for row in m.matrix(1)}


def _profiles() -> set[str]:
    from tests.profiles import test_permissions as m

    # _urls(objects) reverses real URLs from model instances; any pk will do.
    fake = {key: SimpleNamespace(pk=1) for key in m.OBJECT_KEYS}
    return {resolve(url).view_name for _, url, _ in m._urls(fake)}


def _alerts() -> set[str]:
    from tests.alerts import test_permissions as m

    return {row[0] for row in (*m.GET_MATRIX, *m.POST_MATRIX)} | set(m.TOKEN_URLS)


def _team() -> set[str]:
    from tests.team import test_permissions as m

    return {row[0] for row in (*m.GET_MATRIX, *m.POST_MATRIX)}


ADAPTERS = (_core, _rotation, _calls, _previews, _events, _profiles, _alerts, _team)


def covered_url_names() -> set[str]:
    names: set[str] = set()
    for adapter in ADAPTERS:
        names |= adapter()
    return names


def test_the_walk_finds_the_routes_of_every_app():
    names = project_url_names()
    for expected in (
        "overview",
        "accounts:rotation_status",
        "calls:group_state",
        "audit:export",
        "previews:grid_baseline",
        "events:replay_cancel",
        "profiles:export_download",
    ):
        assert expected in names
    assert not names & EXEMPT_NAMES
    assert not any(name.startswith("admin:") for name in names)


def test_every_adapter_finds_urls():
    for adapter in ADAPTERS:
        names = adapter()
        assert names, adapter.__name__
        assert all(isinstance(name, str) and name for name in names), adapter.__name__


def test_every_named_url_is_in_a_role_matrix():
    missing = project_url_names() - covered_url_names()
    assert not missing, f"URLs no role matrix covers: {sorted(missing)}"


def test_the_matrices_name_only_real_urls():
    stale = covered_url_names() - project_url_names()
    assert not stale, f"matrix rows for URLs that no longer exist: {sorted(stale)}"
