"""Demo slots and experiences served by the Croct sandbox (plain data).

Schemas follow the shape of the fetch-content doc's example: a ``structure`` root
whose attributes have a ``position`` and a ``type`` (text, number, boolean, list,
structure); ``title``/``label``/``description`` are what the API strips.
"""

from __future__ import annotations

from typing import Any


def _text(label: str) -> dict[str, Any]:
    return {"type": "text", "title": label}


def _attr(position: int, type_: dict[str, Any], label: str = "", description: str = "") -> dict:
    attr: dict[str, Any] = {"position": position, "type": type_}
    if label:
        attr["label"] = label
    if description:
        attr["description"] = description
    return attr


def _structure(title: str, /, **attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "structure", "title": title, "attributes": attributes}


_CTA = _structure(
    "Call to action",
    label=_attr(0, _text("Label"), "Label"),
    link=_attr(1, _text("Link"), "Link", "Where the button goes"),
)

HERO_V1_0 = _structure(
    "Hero",
    heading=_attr(0, _text("Heading"), "Heading", "Main line, internal note: Q3 test"),
    cta=_attr(1, _CTA, "CTA"),
)
HERO_V1_1 = _structure(
    "Hero",
    heading=_attr(0, _text("Heading"), "Heading"),
    subheading=_attr(1, _text("Subheading"), "Subheading"),
    cta=_attr(2, _CTA, "CTA"),
)
HERO_V2_0 = _structure(
    "Hero",
    title=_attr(0, _text("Title"), "Title"),
    subtitle=_attr(1, _text("Subtitle"), "Subtitle"),
    cta=_attr(2, _CTA, "CTA"),
    showBadge=_attr(3, {"type": "boolean", "title": "Badge"}, "Show badge"),
)
PRICING = _structure(
    "Pricing banner",
    headline=_attr(0, _text("Headline"), "Headline"),
    discount=_attr(1, {"type": "number", "title": "Discount %"}, "Discount", "Margin-checked"),
    highlight=_attr(2, {"type": "boolean"}, "Highlight"),
)
RECOMMENDATIONS = _structure(
    "Recommendations",
    title=_attr(0, _text("Title"), "Title"),
    products=_attr(
        1,
        {
            "type": "list",
            "title": "Products",
            "items": _structure(
                "Product",
                name=_attr(0, _text("Name"), "Name"),
                price=_attr(1, {"type": "number"}, "Price"),
            ),
        },
        "Products",
    ),
)
NEWSLETTER = _structure(
    "Newsletter",
    heading=_attr(0, _text("Heading"), "Heading"),
    placeholder=_attr(1, _text("Placeholder"), "Placeholder"),
    visible=_attr(2, {"type": "boolean"}, "Visible"),
)
ANNOUNCEMENT = _structure("Announcement", message=_attr(0, _text("Message"), "Message"))


def _cta(label: str, link: str) -> dict[str, str]:
    return {"label": label, "link": link}


SLOT_SPECS: dict[str, dict[str, Any]] = {
    "home-hero": {
        "default_locale": "en",
        "versions": [
            {
                "version": "1.0",
                "component": "home-hero@1",
                "schema": HERO_V1_0,
                "content": {
                    "en": {"heading": "Welcome", "cta": _cta("Start", "https://example.com/start")},
                    "pt-br": {
                        "heading": "Bem-vindo",
                        "cta": _cta("Começar", "https://example.com/start"),
                    },
                },
            },
            {
                "version": "1.1",
                "component": "home-hero@1",
                "schema": HERO_V1_1,
                "content": {
                    "en": {
                        "heading": "Welcome",
                        "subheading": "Personalization made simple",
                        "cta": _cta("Start", "https://example.com/start"),
                    },
                },
            },
            {
                "version": "2.0",
                "component": "home-hero@2",
                "schema": HERO_V2_0,
                "content": {
                    "en": {
                        "title": "Ship personalized experiences",
                        "subtitle": "Slots, audiences and experiments in one place",
                        "cta": _cta("Get started", "https://example.com/signup"),
                        "showBadge": False,
                    },
                    "en-us": {
                        "title": "Ship personalized experiences, fast",
                        "subtitle": "Slots, audiences and experiments in one place",
                        "cta": _cta("Get started", "https://example.com/signup"),
                        "showBadge": False,
                    },
                    "pt-br": {
                        "title": "Experiências personalizadas",
                        "subtitle": "Slots, audiências e experimentos em um só lugar",
                        "cta": _cta("Começar", "https://example.com/signup"),
                        "showBadge": False,
                    },
                    "es": {
                        "title": "Experiencias personalizadas",
                        "subtitle": "Slots, audiencias y experimentos en un solo lugar",
                        "cta": _cta("Empezar", "https://example.com/signup"),
                        "showBadge": False,
                    },
                },
            },
        ],
    },
    "pricing-banner": {
        "default_locale": "en",
        "versions": [
            {
                "version": "1.0",
                "component": "pricing-banner@1",
                "schema": PRICING,
                "content": {
                    "en": {"headline": "Simple pricing", "discount": 0, "highlight": False},
                    "en-us": {
                        "headline": "Simple, honest pricing",
                        "discount": 0,
                        "highlight": False,
                    },
                    "pt-br": {"headline": "Preços simples", "discount": 0, "highlight": False},
                    "es": {"headline": "Precios simples", "discount": 0, "highlight": False},
                },
            }
        ],
    },
    "product-recommendations": {
        "default_locale": "en",
        "versions": [
            {
                "version": "1.0",
                "component": "product-recommendations@1",
                "schema": RECOMMENDATIONS,
                "content": {
                    "en": {
                        "title": "Popular right now",
                        "products": [
                            {"name": "Starter kit", "price": 19.9},
                            {"name": "Team plan", "price": 49.0},
                        ],
                    },
                    "pt-br": {
                        "title": "Populares agora",
                        "products": [
                            {"name": "Kit inicial", "price": 99.9},
                            {"name": "Plano equipe", "price": 249.0},
                        ],
                    },
                    "es": {
                        "title": "Populares ahora",
                        "products": [
                            {"name": "Kit inicial", "price": 19.9},
                            {"name": "Plan equipo", "price": 49.0},
                        ],
                    },
                },
            }
        ],
    },
    "newsletter-signup": {
        "default_locale": "en",
        "versions": [
            {
                "version": "1.0",
                "component": "newsletter-signup@1",
                "schema": NEWSLETTER,
                "content": {
                    "en": {
                        "heading": "Get our newsletter",
                        "placeholder": "you@example.com",
                        "visible": True,
                    },
                    "pt-br": {
                        "heading": "Assine a newsletter",
                        "placeholder": "voce@exemplo.com",
                        "visible": True,
                    },
                    "es": {
                        "heading": "Suscríbete",
                        "placeholder": "tu@ejemplo.com",
                        "visible": True,
                    },
                },
            }
        ],
    },
    # providers/croct.md: `_component` is null when no component is associated.
    "announcement-bar": {
        "default_locale": "en",
        "versions": [
            {
                "version": "1.0",
                "component": None,
                "schema": ANNOUNCEMENT,
                "content": {"en": {"message": "We are hiring"}, "es": {"message": "Contratamos"}},
            }
        ],
    },
}

# Highest priority first within a slot. `major` is the slot version the content fits.
EXPERIENCE_SPECS: list[dict[str, Any]] = [
    {
        "name": "pro-upsell",
        "slot": "home-hero",
        "major": 2,
        "audience": "pro-users",
        "content": {
            "en": {
                "title": "Personalized for Pro users",
                "cta": _cta("Upgrade now", "https://example.com/upgrade"),
                "showBadge": True,
            },
            "pt-br": {
                "title": "Personalizado para usuários Pro",
                "cta": _cta("Faça upgrade", "https://example.com/upgrade"),
                "showBadge": True,
            },
        },
    },
    {
        "name": "brazil-welcome",
        "slot": "home-hero",
        "major": 2,
        "audience": "brazil-visitors",
        "content": {
            "en": {"subtitle": "Now serving Brazil"},
            "pt-br": {"subtitle": "Agora no Brasil"},
        },
        "variants": [
            {"name": "control", "content": {}},
            {
                "name": "ola",
                "content": {
                    "en": {"title": "Olá! Welcome"},
                    "pt-br": {"title": "Olá! Boas-vindas"},
                },
            },
            {
                "name": "free-shipping",
                "content": {
                    "en": {"title": "Free shipping to Brazil"},
                    "pt-br": {"title": "Frete grátis"},
                },
            },
        ],
    },
    {
        "name": "pricing-ab",
        "slot": "pricing-banner",
        "major": 1,
        "audience": "pricing-browsers",
        "content": {"en": {"highlight": True}},
        "variants": [
            {
                "name": "annual-discount",
                "content": {"en": {"headline": "Save 20% annually", "discount": 20}},
            },
            {
                "name": "first-month-free",
                "content": {"en": {"headline": "First month free", "discount": 100}},
            },
        ],
    },
    {
        "name": "newsletter-thanks",
        "slot": "newsletter-signup",
        "major": 1,
        "audience": "newsletter-readers",
        "content": {
            "en": {"heading": "Thanks for reading!", "visible": False},
            "pt-br": {"heading": "Obrigado por ler!", "visible": False},
        },
    },
    {
        "name": "pro-recommendations",
        "slot": "product-recommendations",
        "major": 1,
        "audience": "pro-users",
        "content": {
            "en": {
                "title": "Picked for Pro teams",
                "products": [{"name": "Enterprise add-on", "price": 199.0}],
            }
        },
    },
]
