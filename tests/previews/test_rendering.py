"""Slot content laid out from its schema, and field-by-field diffs."""

from __future__ import annotations

from dashboard.previews import rendering

SCHEMA = {
    "root": {
        "type": "structure",
        "attributes": {
            "cta": {"position": 1, "type": {"type": "reference", "id": "cta"}},
            "title": {"position": 0, "type": {"type": "text"}},
            "items": {
                "position": 2,
                "type": {"type": "list", "items": {"type": "structure", "attributes": {}}},
            },
        },
    },
    "definitions": {
        "cta": {
            "type": "structure",
            "attributes": {
                "link": {"position": 1, "type": {"type": "text"}},
                "label": {"position": 0, "type": {"type": "text"}},
            },
        }
    },
}
RESULT = {
    "content": {
        "_component": "hero@1",
        "items": [{"name": "A"}],
        "cta": {"link": "https://example.com/go", "label": "Go"},
        "title": "Hello",
    },
    "schema": SCHEMA,
}


def test_fields_follow_the_schema_positions_through_references():
    tree = rendering.content_tree(RESULT)

    assert [c.label for c in tree.children] == ["title", "cta", "items"]
    cta = tree.children[1]
    assert [c.label for c in cta.children] == ["label", "link"]
    assert cta.children[1].kind == "link"
    assert tree.children[2].kind == "list"
    assert tree.children[2].children[0].children[0].path == "items[0].name"


def test_without_a_schema_the_answers_order_and_inferred_kinds_are_kept():
    tree = rendering.content_tree({"content": {"_component": "x@1", "b": True, "a": None}})
    assert [(c.label, c.kind) for c in tree.children] == [("b", "boolean"), ("a", "null")]


def test_a_javascript_url_is_text_not_a_link():
    tree = rendering.content_tree({"content": {"href": "javascript:alert(1)"}})
    assert tree.children[0].kind == "text"


def test_diff_lists_changed_added_removed_and_same_fields():
    left = {"content": {"a": 1, "b": {"c": "x"}, "gone": 1}, "source": "slot"}
    right = {"content": {"a": 1, "b": {"c": "y"}, "new": [1]}, "source": "experience"}

    rows = {r.path: r.change for r in rendering.diff(left, right)}

    assert rows["content.a"] == "same"
    assert rows["content.b.c"] == "changed"
    assert rows["content.gone"] == "removed"
    assert rows["content.new[0]"] == "added"
    assert rows["source"] == "changed"
    assert rendering.differs(left, right)
    assert not rendering.differs(left, dict(left))


def test_a_cell_headline_is_the_title_like_text():
    assert rendering.headline({"content": {"_component": "x", "heading": "Hi"}}) == "Hi"
    assert rendering.headline({"content": {"discount": 3, "label": "L"}}) == "L"
    assert rendering.headline(None) == ""
