"""The preview grid on a real worker: personas x locales, baseline marks, cell diffs."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dashboard.previews.models import PreviewGrid
from tests.previews.conftest import poll_until_done

pytestmark = pytest.mark.worker

CLIENT_ID = "3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8"


@pytest.fixture
def personas(make_persona):
    return [
        make_persona("Anonymous", {}, identity_mode="client_id", identity_value=CLIENT_ID),
        make_persona("Pro", {"attributes": {"plan": "pro"}}),
        make_persona("Reader", {"campaign": {"source": "newsletter"}}),
    ]


def run_grid(client, account, personas, locales="en, es", slot="newsletter-signup"):
    response = client.post(
        reverse("previews:grids"),
        {
            "account": account.pk,
            "slot_id": slot,
            "version": "",
            "personas": [p.pk for p in personas],
            "locales": locales,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grid = PreviewGrid.objects.get()
    assert response.url == reverse("previews:grid", args=[grid.pk])
    return grid


def test_a_three_by_two_grid_fills_in_and_marks_cells_that_differ_from_the_baseline(
    celery_worker, croct, marketer, client_for, personas
):
    client = client_for(marketer)
    grid = run_grid(client, croct, personas)

    first = client.get(reverse("previews:grid", args=[grid.pk])).content.decode()
    assert grid.cells.count() == 6
    assert f'hx-get="{reverse("previews:grid_cells", args=[grid.pk])}"' in first
    done = poll_until_done(client, reverse("previews:grid_cells", args=[grid.pk]))

    assert 'data-finished="true"' in done
    assert done.count('data-testid="cell"') == 6
    assert done.count('data-status="done"') == 6
    cells = {(c.persona_name, c.locale): c for c in grid.cells.all()}
    differs = set(re.findall(r'data-cell="(\d+)" data-status="done" data-differs="true"', done))
    expected = {
        cells[("Anonymous", "es")],  # Spanish copy
        cells[("Pro", "es")],
        cells[("Reader", "en")],  # the newsletter experience
        cells[("Reader", "es")],
    }
    assert differs == {str(c.pk) for c in expected}
    assert cells[("Reader", "en")].result["source"] == "experience"
    assert '<strong data-testid="differing">4</strong>' in done
    # The page itself no longer polls once every cell is done.
    final = client.get(reverse("previews:grid", args=[grid.pk])).content.decode()
    assert "hx-get=" not in final.split('id="grid-cells"')[1].split(">")[0]


def test_choosing_another_baseline_changes_which_cells_are_marked(
    celery_worker, croct, marketer, client_for, personas
):
    client = client_for(marketer)
    grid = run_grid(client, croct, personas)
    poll_until_done(client, reverse("previews:grid_cells", args=[grid.pk]))
    reader_en = grid.cells.get(persona_name="Reader", locale="en")

    response = client.post(
        reverse("previews:grid_baseline", args=[grid.pk]), {"cell": reader_en.pk}
    )

    assert response.status_code == 302
    grid.refresh_from_db()
    assert grid.baseline_id == reader_en.pk
    page = client.get(reverse("previews:grid", args=[grid.pk])).content.decode()
    assert '<strong data-testid="differing">5</strong>' in page


def test_two_cells_diff_field_by_field(celery_worker, croct, marketer, client_for, personas):
    client = client_for(marketer)
    grid = run_grid(client, croct, personas)
    poll_until_done(client, reverse("previews:grid_cells", args=[grid.pk]))
    anonymous = grid.cells.get(persona_name="Anonymous", locale="en")
    reader = grid.cells.get(persona_name="Reader", locale="en")

    # The grid's form sends the two ticked cells as ``pick``.
    page = client.get(reverse("previews:diff"), {"pick": [anonymous.pk, reader.pk]})

    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(
        r'data-change="changed" data-path="content.heading">\s*<td class="mono">content.heading'
        r"</td><td>Get our newsletter</td><td>Thanks for reading!</td>",
        html,
    )
    assert 'data-change="changed" data-path="source"' in html
    assert 'data-change="same" data-path="content.placeholder"' in html
    assert "4 fields differ" in html  # heading, visible, source, experience


def test_one_picked_cell_is_compared_with_the_baseline_and_none_says_what_to_do(
    celery_worker, croct, marketer, client_for, personas
):
    """#16 defect 7: one pick used to end on a 404."""
    client = client_for(marketer)
    grid = run_grid(client, croct, personas)
    poll_until_done(client, reverse("previews:grid_cells", args=[grid.pk]))
    grid.refresh_from_db()
    reader = grid.cells.get(persona_name="Reader", locale="en")
    form = client.get(reverse("previews:grid", args=[grid.pk])).content.decode()
    assert f'name="baseline" value="{grid.baseline_id}"' in form

    page = client.get(
        reverse("previews:diff"),
        {"pick": [reader.pk], "baseline": grid.baseline_id, "grid": grid.pk},
    )
    assert page.status_code == 200
    assert f"#{grid.baseline_id} vs #{reader.pk}" in page.content.decode()

    refused = client.get(
        reverse("previews:diff"), {"grid": grid.pk, "baseline": grid.baseline_id}, follow=True
    )
    assert refused.redirect_chain[-1][0] == reverse("previews:grid", args=[grid.pk])
    assert "Tick two cells to compare them" in refused.content.decode()
    alone = client.get(reverse("previews:diff"))
    assert alone.status_code == 400
    assert "Tick two cells" in alone.content.decode()


def test_grid_input_is_checked_before_anything_is_queued(db, croct, marketer, client_for, personas):
    response = client_for(marketer).post(
        reverse("previews:grids"),
        {"account": croct.pk, "slot_id": "home-hero", "personas": [], "locales": "en, xx!"},
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "This field is required" in html  # no persona picked
    assert not PreviewGrid.objects.exists()
    response = client_for(marketer).post(
        reverse("previews:grids"),
        {
            "account": croct.pk,
            "slot_id": "home-hero",
            "personas": [personas[0].pk],
            "locales": "en, xx!",
        },
    )
    assert "&#x27;xx!&#x27;: &#x27;xx!&#x27; is not a locale" in response.content.decode()
    assert not PreviewGrid.objects.exists()
