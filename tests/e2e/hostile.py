"""What the hostile-input journeys share: the values they type, a form submitted as a
tampered request would send it, and the check that the answer is a page in words."""

from __future__ import annotations

import re

NUL = "ops\x00hook"
HUGE = "x" * 100_000
ODD = "caf\u00e9 \u202eevil\u202c \U0001f4a5 \ufeff"
# In a URL: as long as gunicorn's request line allows (4094 bytes); a longer one is
# refused by the server before the console sees it.
LONG = "x" * 3000
RAW_ERROR = re.compile(r"Traceback|Exception|Error at /|IntegrityError|DataError|ValueError")


def submit_tampered(page, form: str, values: dict[str, str]) -> int:
    """Set ``values`` on the form's fields in the page (a select gets an option with
    that value, as a tampered request would send; length limits and input types are
    lifted) and submit it; the status code."""
    page.evaluate(
        """([form, values]) => {
            const f = document.querySelector(form);
            for (const [name, value] of Object.entries(values)) {
                for (const el of f.querySelectorAll(`[name="${name}"]`)) {
                    if (el.tagName === "SELECT") {
                        const o = document.createElement("option");
                        o.value = value; o.textContent = "tampered"; el.appendChild(o);
                        for (const other of el.options) other.selected = false;
                        o.selected = true;
                    } else {
                        // A number input would drop what is not a number client-side.
                        if (el.type === "number" || el.type === "hidden") el.type = "text";
                        el.removeAttribute("maxlength");
                        el.value = value;
                    }
                }
            }
        }""",
        [form, values],
    )
    with page.expect_navigation() as navigation:
        page.locator(form).evaluate("f => f.requestSubmit()")
    return navigation.value.status


def answered_in_words(page, status: int, *, expect: str | None = None) -> str:
    """The page is the console's own (not a server error page), below 500, with no raw
    exception text, and says ``expect`` when given; its main text."""
    assert page.locator("main").count() == 1, (status, page.content()[:800])
    text = page.locator("main").inner_text()
    assert status < 500, (status, text[:500])
    assert not RAW_ERROR.search(page.content()), RAW_ERROR.search(page.content())
    if expect:
        assert expect in text, text[:2000]
    return text
