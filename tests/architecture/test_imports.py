"""The one-way app graph of docs/architecture.md, checked on the source itself.

Every module of ``dashboard/`` and ``integrations/`` is parsed with ``ast`` (nothing is
imported), each import is resolved to the module it names, and an edge the graph
forbids fails the test with the file and line:

    overview -> features (previews, events, profiles) -> accounts -> calls -> core
    dashboard -> integrations, never the reverse

Edges that other branches of issue #13 remove (events and profiles are being reworked
in parallel) are listed in ``PENDING_ON_OTHER_BRANCHES``; the lead empties it after
merging them, and an entry that no longer matches anything fails the test too, so the
list cannot rot.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FEATURES = frozenset({"previews", "events", "profiles"})
# The top of the graph: they read every feature's selectors; nothing imports them.
TOP_APPS = frozenset({"overview", "alerts"})
APPS = frozenset({"core", "calls", "accounts", "team"} | TOP_APPS | FEATURES)
# The only modules that may import a top app (besides itself).
OVERVIEW_IMPORTERS = frozenset({"dashboard/urls.py", "dashboard/settings.py"})

# (file, imported module or rule) still owned by the events/profiles helpers' branches.
PENDING_ON_OTHER_BRANCHES: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Edge:
    path: str  # file, relative to the repository root
    line: int
    target: str  # the dotted module imported

    @property
    def source_top(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def source_app(self) -> str | None:
        parts = self.path.split("/")
        return parts[1] if parts[0] == "dashboard" and parts[1] in APPS else None

    @property
    def target_app(self) -> str | None:
        parts = self.target.split(".")
        return parts[1] if parts[0] == "dashboard" and len(parts) > 1 and parts[1] in APPS else None


def modules() -> list[Path]:
    found = []
    for top in ("dashboard", "integrations"):
        found += [p for p in sorted((ROOT / top).rglob("*.py")) if "migrations" not in p.parts]
    return found


def _package(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts if path.name == "__init__.py" else parts[:-1]


def _resolve(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = _package(path)
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def edges(path: Path, tree: ast.AST) -> list[Edge]:
    rel = path.relative_to(ROOT).as_posix()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Edge(rel, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, path)
            # ``from dashboard import events`` imports the app too.
            found += [Edge(rel, node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def forbidden(edge: Edge) -> str | None:
    """Why ``edge`` breaks the graph, or None when it is allowed."""
    source, target = edge.source_app, edge.target_app
    if edge.source_top == "integrations" and edge.target.split(".")[0] == "dashboard":
        return "integrations imports dashboard"
    # The overview is the very top: it may read alerts too (reencrypt_credentials
    # re-encrypts every app's secrets, alert destinations included).
    if (
        target in TOP_APPS
        and source not in (target, "overview")
        and (edge.path not in OVERVIEW_IMPORTERS)
    ):
        return f"only the URLconf imports {target} (the top of the graph)"
    if source is None or target is None or source == target:
        return None
    if source == "core":
        return "core is infrastructure and imports no app"
    if source == "calls" and target != "core":
        return "calls imports only core (features register their subjects)"
    if source == "accounts" and target not in ("core", "calls"):
        return "accounts imports only calls and core"
    if source in FEATURES and target in FEATURES:
        return "a feature never imports another feature"
    # Staff and access sit beside the features: above accounts, below the top apps.
    if target == "team" and source not in TOP_APPS:
        return "only the top apps import team"
    if source == "team" and target in FEATURES:
        return "team imports no feature"
    return None


def hidden_imports(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """importlib use and ``except ImportError``: edges the graph above cannot see."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if "importlib" in names or (
                isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importlib")
            ):
                found.append((node.lineno, "importlib"))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            found.append((node.lineno, "__import__"))
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            for name in caught:
                if getattr(name, "id", "") in ("ImportError", "ModuleNotFoundError"):
                    found.append((node.lineno, f"except {name.id}"))
    return found


def parsed() -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text(), filename=str(path))) for path in modules()]


def _pending(path: str, what: str) -> bool:
    return (path, what) in PENDING_ON_OTHER_BRANCHES


def test_no_module_imports_against_the_graph():
    broken, used = [], set()
    for path, tree in parsed():
        for edge in edges(path, tree):
            reason = forbidden(edge)
            if reason is None:
                continue
            if _pending(edge.path, edge.target):
                used.add((edge.path, edge.target))
                continue
            broken.append(f"{edge.path}:{edge.line} imports {edge.target}: {reason}")
    assert broken == []
    _assert_no_stale_pending(used, kind="import")


def test_dashboard_has_no_importlib_and_no_import_error_guard():
    broken, used = [], set()
    for path, tree in parsed():
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith("dashboard/"):
            continue
        for line, what in hidden_imports(path, tree):
            if _pending(rel, what):
                used.add((rel, what))
                continue
            broken.append(f"{rel}:{line}: {what}")
    assert broken == []
    _assert_no_stale_pending(used, kind="hidden")


def _assert_no_stale_pending(used: set[tuple[str, str]], *, kind: str) -> None:
    hidden = {"importlib", "__import__", "except ImportError", "except ModuleNotFoundError"}
    mine = {p for p in PENDING_ON_OTHER_BRANCHES if (p[1] in hidden) == (kind == "hidden")}
    assert mine - used == set(), "fixed: remove these from PENDING_ON_OTHER_BRANCHES"


def test_the_checker_sees_each_kind_of_forbidden_edge(tmp_path):
    # The rules themselves, on edges written for the purpose: a checker that saw
    # nothing would pass the tests above on any code.
    cases = {
        ("integrations/croct/client.py", "dashboard.calls.models"): True,
        ("dashboard/core/views.py", "dashboard.accounts.models"): True,
        ("dashboard/calls/selectors.py", "dashboard.accounts.models"): True,
        ("dashboard/calls/views.py", "dashboard.events.selectors"): True,
        ("dashboard/accounts/views.py", "dashboard.previews.models"): True,
        ("dashboard/profiles/views.py", "dashboard.events.selectors"): True,
        ("dashboard/previews/views.py", "dashboard.overview.selectors"): True,
        ("dashboard/celery.py", "dashboard.overview"): True,
        ("dashboard/urls.py", "dashboard.overview.views"): False,
        ("dashboard/overview/selectors.py", "dashboard.events.selectors"): False,
        ("dashboard/profiles/views.py", "dashboard.accounts.models"): False,
        ("dashboard/accounts/services.py", "dashboard.calls.services"): False,
        ("dashboard/calls/views.py", "dashboard.core.roles"): False,
    }
    for (path, target), expected in cases.items():
        assert (forbidden(Edge(path, 1, target)) is not None) is expected, (path, target)
    source = tmp_path / "guarded.py"
    source.write_text(
        "import importlib\n"
        "try:\n    import x\nexcept (KeyError, ImportError):\n    pass\n"
        "from importlib import import_module\n"
    )
    found = [what for _, what in hidden_imports(source, ast.parse(source.read_text()))]
    assert sorted(found) == ["except ImportError", "importlib", "importlib"]


def test_relative_imports_resolve_to_the_module_they_name():
    path = ROOT / "dashboard/previews/services/previews.py"
    tree = ast.parse("from .checks import Visitor\nfrom ..models import RunStatus\n")
    assert {e.target for e in edges(path, tree)} == {
        "dashboard.previews.services.checks.Visitor",
        "dashboard.previews.models.RunStatus",
    }


# Files of events/profiles that still name provider keys until their helpers' branches
# (provider adapters) are merged; the lead empties it then, like the list above.
PROVIDER_KEYS_PENDING_ON_OTHER_BRANCHES: frozenset[str] = frozenset()


def provider_key_strings(tree: ast.AST, keys: frozenset[str]) -> list[tuple[int, str]]:
    """String constants that are one of the provider ``keys``."""
    return [
        (node.lineno, repr(node.value))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in keys
    ]


def provider_keys() -> frozenset[str]:
    from integrations.registry import PROVIDER_PATHS

    return frozenset(PROVIDER_PATHS)


def test_features_name_no_provider_key():
    # A feature asks the registry for providers by capability; adding a provider must
    # not mean editing a feature (README's checklist).
    broken, used = [], set()
    for path, tree in parsed():
        rel = path.relative_to(ROOT).as_posix()
        if not any(rel.startswith(f"dashboard/{feature}/") for feature in FEATURES):
            continue
        for line, what in provider_key_strings(tree, provider_keys()):
            if rel in PROVIDER_KEYS_PENDING_ON_OTHER_BRANCHES:
                used.add(rel)
                continue
            broken.append(f"{rel}:{line}: {what}")
    assert broken == []
    assert PROVIDER_KEYS_PENDING_ON_OTHER_BRANCHES - used == set(), "fixed: remove them"


def test_the_key_check_finds_a_key_however_it_is_written():
    tree = ast.parse('if account.provider == "octy":\n    KEYS = {"croct": 1}\n"octy shop"\n')
    assert provider_key_strings(tree, provider_keys()) == [(1, "'octy'"), (2, "'croct'")]
