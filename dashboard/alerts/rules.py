"""The kinds of alert rule, their parameters and how each is validated.

A kind is either about an *occurrence* (a group appearing, a verification failing:
each happens once, so each fires once) or about a *condition* that lasts (a high
failure rate, a stale outbox): those fire at most once per throttle window while
they last. Both are enforced by the Alert table's unique (rule, subject, window).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    name: str
    default: int
    minimum: int
    maximum: int
    help: str


@dataclass(frozen=True)
class RuleKind:
    key: str
    label: str
    # True: a lasting condition, throttled per window. False: a one-off occurrence.
    lasting: bool
    params: tuple[Param, ...] = ()
    # Which of provider / account / error kind the kind can be filtered by.
    filters: tuple[str, ...] = ("provider", "account")


THROTTLE = Param("throttle_minutes", 60, 1, 7 * 24 * 60, "At most one alert per subject per")

_GROUP_FILTERS = ("provider", "account", "error_kind")
KINDS: dict[str, RuleKind] = {
    k.key: k
    for k in (
        RuleKind("new_group", "A new error group appears", False, filters=_GROUP_FILTERS),
        RuleKind(
            "regressed_group", "A resolved error group comes back", False, filters=_GROUP_FILTERS
        ),
        RuleKind(
            "escalating_group",
            "An error group occurs more than N times in M minutes",
            True,
            (
                Param("count", 100, 1, 10**9, "More than this many occurrences"),
                Param("minutes", 60, 1, 24 * 60, "within this many minutes"),
                THROTTLE,
            ),
            _GROUP_FILTERS,
        ),
        RuleKind(
            "failure_rate",
            "An account's failure rate exceeds X %",
            True,
            (
                Param("percent", 20, 1, 100, "Failure rate above this percentage"),
                Param("minutes", 15, 1, 24 * 60, "over this many minutes"),
                Param("min_calls", 20, 1, 10**6, "once at least this many calls were made"),
                THROTTLE,
            ),
        ),
        RuleKind(
            "check_failing",
            "An account's synthetic check fails K times in a row",
            True,
            (Param("times", 3, 1, 100, "Consecutive failed checks"), THROTTLE),
        ),
        RuleKind(
            "outbox_stale",
            "The outbox holds events older than N minutes",
            True,
            (
                Param("minutes", 15, 1, 7 * 24 * 60, "Queued longer than this many minutes"),
                THROTTLE,
            ),
        ),
        RuleKind(
            "events_held",
            "Events need a person (failed permanently or retries exhausted)",
            True,
            (Param("minutes", 60, 1, 7 * 24 * 60, "Failed within this many minutes"), THROTTLE),
        ),
        RuleKind(
            "key_age",
            "A key passes its rotation reminder age",
            True,
            (
                Param("days", 90, 1, 3650, "Active key older than this many days"),
                Param("throttle_minutes", 24 * 60, 60, 30 * 24 * 60, "Remind again after"),
            ),
        ),
        RuleKind("rotation_failed", "A rotation's verification fails", False),
        RuleKind(
            "overlap_ending",
            "An overlap window ends soon while the old key still serves traffic",
            False,
            (
                Param("hours", 2, 1, 24 * 30, "Window ends within this many hours"),
                Param("used_minutes", 60, 1, 24 * 60, "old key used within this many minutes"),
            ),
        ),
    )
}
KIND_CHOICES = [(k.key, k.label) for k in KINDS.values()]
# How far back one-off occurrences are looked for (a missed pass still catches them).
OCCURRENCE_LOOKBACK_MINUTES = 60


class RuleParamsError(ValueError):
    """``errors`` maps parameter names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def clean_params(kind: str, raw: dict | None) -> dict[str, int]:
    """The kind's parameters with defaults filled in; raises :class:`RuleParamsError`
    for an unknown kind, an unknown parameter or a value out of range."""
    if kind not in KINDS:
        raise RuleParamsError({"kind": f"unknown kind {kind!r}; one of {', '.join(KINDS)}"})
    spec = {p.name: p for p in KINDS[kind].params}
    raw = {k: v for k, v in (raw or {}).items() if v is not None and v != ""}
    errors = {name: f"not a parameter of {kind}" for name in raw if name not in spec}
    cleaned: dict[str, int] = {}
    for name, param in spec.items():
        value = raw.get(name, param.default)
        try:
            number = int(value)
        except (TypeError, ValueError):
            errors[name] = "must be a whole number"
            continue
        if isinstance(value, bool) or not param.minimum <= number <= param.maximum:
            errors[name] = f"must be between {param.minimum} and {param.maximum}"
            continue
        cleaned[name] = number
    if errors:
        raise RuleParamsError(errors)
    return cleaned


def describe(kind: str, params: dict) -> str:
    """A short summary of the parameters: "count 100 · minutes 60"."""
    spec = KINDS[kind]
    return " · ".join(
        f"{p.name.replace('_', ' ')} {params.get(p.name, p.default)}" for p in spec.params
    )
