"""The sandbox's seeded slots, audiences, experiences and experiments.

Deterministic for a seed: ids come from a hash of (seed, name), experiment variants
from a hash of (experiment id, subject). Everything is built once per seed and never
mutated, so request threads share it without locks.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from integrations.croct.sandbox_slots import EXPERIENCE_SPECS, SLOT_SPECS

HUMAN_SCHEMA_KEYS = frozenset({"title", "label", "description"})


def seeded_uuid(seed: int, name: str) -> str:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def stable_bucket(key: str, buckets: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % buckets


@dataclass(frozen=True)
class SlotVersion:
    version: str
    component: str | None
    schema: dict[str, Any]  # as authored, with labels and descriptions
    public_schema: dict[str, Any]  # as Croct returns it: labels/descriptions stripped
    content: Mapping[str, dict[str, Any]]  # locale -> content

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


@dataclass(frozen=True)
class Slot:
    slot_id: str
    default_locale: str
    versions: tuple[SlotVersion, ...]  # oldest first

    def version(self, wanted: str | None) -> SlotVersion | None:
        """``1`` is the latest 1.x, ``1.1`` exactly 1.1, None the latest."""
        if wanted is None:
            return self.versions[-1]
        if "." not in wanted:
            matching = [v for v in self.versions if v.major == int(wanted)]
            return matching[-1] if matching else None
        major, minor = (int(p) for p in wanted.split(".", 1))
        for v in self.versions:
            if tuple(int(p) for p in v.version.split(".")) == (major, minor):
                return v
        return None

    def locale(self, preferred: str | None) -> str:
        """providers/croct.md: case-insensitive, - or _; unsupported -> default."""
        locales = self.versions[-1].content
        if not preferred:
            return self.default_locale
        code = preferred.lower().replace("_", "-")
        if code in locales:
            return code
        language = code.split("-")[0]
        return language if language in locales else self.default_locale


@dataclass(frozen=True)
class Audience:
    audience_id: str
    name: str
    matches: Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class Variant:
    variant_id: str
    name: str
    content: Mapping[str, dict[str, Any]]  # locale -> overrides of the experience content


@dataclass(frozen=True)
class Experience:
    experience_id: str
    name: str
    slot_id: str
    major: int
    audience: Audience
    content: Mapping[str, dict[str, Any]]  # locale -> overrides of the slot content
    experiment_id: str | None = None
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class Catalog:
    slots: Mapping[str, Slot]
    audiences: Mapping[str, Audience]
    experiences: Mapping[str, tuple[Experience, ...]]  # slot id -> by priority


def strip_schema(node: dict[str, Any]) -> dict[str, Any]:
    """A type definition without the human-readable parts (providers/croct.md)."""
    out = {k: v for k, v in node.items() if k not in HUMAN_SCHEMA_KEYS}
    if isinstance(node.get("attributes"), dict):
        out["attributes"] = {
            name: {
                **{k: v for k, v in attr.items() if k not in HUMAN_SCHEMA_KEYS},
                "type": strip_schema(attr["type"]),
            }
            for name, attr in node["attributes"].items()
        }
    if isinstance(node.get("items"), dict):
        out["items"] = strip_schema(node["items"])
    return out


def merged(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def localized(by_locale: Mapping[str, dict[str, Any]], locale: str, default: str) -> dict:
    return (
        by_locale.get(locale) or by_locale.get(locale.split("-")[0]) or by_locale.get(default) or {}
    )


# --- context rules --------------------------------------------------------------------
def _attr(context: Mapping[str, Any], name: str) -> Any:
    attributes = context.get("attributes")
    return attributes.get(name) if isinstance(attributes, Mapping) else None


def _part(context: Mapping[str, Any], part: str, name: str) -> Any:
    value = context.get(part)
    return value.get(name) if isinstance(value, Mapping) else None


def _is_pro(context: Mapping[str, Any]) -> bool:
    return _attr(context, "plan") == "pro"


def _from_newsletter(context: Mapping[str, Any]) -> bool:
    return _part(context, "campaign", "source") == "newsletter"


def _in_sao_paulo(context: Mapping[str, Any]) -> bool:
    return str(context.get("timeZone") or "").startswith("America/Sao_Paulo")


def _on_pricing(context: Mapping[str, Any]) -> bool:
    return "/pricing" in str(_part(context, "page", "url") or "")


@cache
def build_catalog(seed: int) -> Catalog:
    slots = {}
    for slot_id, spec in SLOT_SPECS.items():
        versions = tuple(
            SlotVersion(
                version=v["version"],
                component=v["component"],
                schema=v["schema"],
                public_schema={"root": strip_schema(v["schema"]), "definitions": {}},
                content=v["content"],
            )
            for v in spec["versions"]
        )
        slots[slot_id] = Slot(slot_id, spec["default_locale"], versions)

    def audience(name: str, rule: Callable[[Mapping[str, Any]], bool]) -> Audience:
        return Audience(seeded_uuid(seed, f"audience:{name}"), name, rule)

    audiences = {
        a.name: a
        for a in (
            audience("pro-users", _is_pro),
            audience("newsletter-readers", _from_newsletter),
            audience("brazil-visitors", _in_sao_paulo),
            audience("pricing-browsers", _on_pricing),
        )
    }
    experiences: dict[str, list[Experience]] = {slot_id: [] for slot_id in slots}
    for spec in EXPERIENCE_SPECS:
        name = spec["name"]
        variants = tuple(
            Variant(seeded_uuid(seed, f"variant:{name}:{v['name']}"), v["name"], v["content"])
            for v in spec.get("variants", ())
        )
        experiences[spec["slot"]].append(
            Experience(
                experience_id=seeded_uuid(seed, f"experience:{name}"),
                name=name,
                slot_id=spec["slot"],
                major=spec["major"],
                audience=audiences[spec["audience"]],
                content=spec["content"],
                experiment_id=seeded_uuid(seed, f"experiment:{name}") if variants else None,
                variants=variants,
            )
        )
    return Catalog(slots, audiences, {k: tuple(v) for k, v in experiences.items()})


def resolve(
    catalog: Catalog,
    slot: Slot,
    version: SlotVersion,
    locale: str,
    *,
    context: Mapping[str, Any] | None,
    subject: str | None,
    preview: Mapping[str, Any] | None,
    include_schema: bool,
) -> dict[str, Any]:
    """The ``{content, metadata}`` answer for one request."""
    base = localized(version.content, locale, slot.default_locale)
    content = base
    metadata: dict[str, Any] = {"version": version.version, "contentSource": "slot"}
    chosen: tuple[Experience, Variant | None] | None = None
    candidates = [e for e in catalog.experiences.get(slot.slot_id, ()) if e.major == version.major]
    if preview is not None:
        # Preview bypasses targeting: the claims name the experience and variant.
        for experience in candidates:
            if experience.experience_id == preview.get("experienceId"):
                variant = next(
                    (v for v in experience.variants if v.variant_id == preview.get("variantId")),
                    None,
                )
                chosen = (experience, variant)
    else:
        for experience in candidates:
            if experience.audience.matches(context or {}):
                variant = None
                if experience.variants:
                    key = f"{experience.experiment_id}:{subject or ''}"
                    variant = experience.variants[stable_bucket(key, len(experience.variants))]
                chosen = (experience, variant)
                break
    if chosen is not None:
        experience, variant = chosen
        content = merged(base, localized(experience.content, locale, slot.default_locale))
        block: dict[str, Any] = {
            "experienceId": experience.experience_id,
            "audienceId": experience.audience.audience_id,
        }
        metadata["contentSource"] = "experience"
        if variant is not None:
            content = merged(content, localized(variant.content, locale, slot.default_locale))
            block["experiment"] = {
                "experimentId": experience.experiment_id,
                "variantId": variant.variant_id,
            }
            metadata["contentSource"] = "experiment"
        metadata["experience"] = block
    if include_schema:
        metadata["schema"] = version.public_schema
    return {"content": {"_component": version.component, **content}, "metadata": metadata}
