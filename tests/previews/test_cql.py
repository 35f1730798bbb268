"""The CQL playground on a real worker against the sandbox's evaluate endpoint."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.previews.models import CqlEvaluation
from tests.previews.conftest import poll_until_done

pytestmark = pytest.mark.worker


def evaluate(client, account, query, **fields):
    data = {"account": account.pk, "query": query, "identity_mode": ""}
    data.update(fields)
    response = client.post(reverse("previews:cql_run"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    evaluation = CqlEvaluation.objects.latest("pk")
    url = reverse("previews:cql_result", args=[evaluation.pk])
    assert f'hx-get="{url}"' in response.content.decode()
    html = poll_until_done(client, url)
    evaluation.refresh_from_db()
    return evaluation, html


def test_a_query_is_evaluated_with_the_personas_context(
    celery_worker, croct, marketer, client_for, make_persona
):
    pro = make_persona("Pro", {"attributes": {"plan": "pro"}})

    evaluation, html = evaluate(
        client_for(marketer), croct, "context's plan is 'pro'", persona=pro.pk
    )

    assert evaluation.status == "done"
    assert evaluation.result == {"value": True}
    assert '<pre data-testid="cql-value">true</pre>' in html
    assert "for Pro" in html


def test_a_finished_evaluation_re_renders_recent_evaluations(
    celery_worker, croct, marketer, client_for
):
    """#16 defect 6: the list below the workbench used to stay as it was."""
    evaluation, html = evaluate(client_for(marketer), croct, "context's plan is 'pro'")
    recent = html.split('id="recent-evaluations"', 1)[1]
    assert recent.split(">", 1)[0].strip().endswith('hx-swap-oob="true"')
    assert reverse("previews:cql_result", args=[evaluation.pk]) in recent


def test_a_false_result_is_a_result_not_an_error(celery_worker, croct, marketer, client_for):
    evaluation, html = evaluate(client_for(marketer), croct, "context's plan is 'pro'")
    assert evaluation.result == {"value": False}
    assert '<pre data-testid="cql-value">false</pre>' in html


def test_a_422_marks_the_line_and_column_in_the_query(celery_worker, croct, marketer, client_for):
    query = "true and\ncontext's plan is is 'pro'"

    evaluation, html = evaluate(client_for(marketer), croct, query)

    assert evaluation.status == "failed"
    assert evaluation.problem["status"] == 422
    location = evaluation.problem["details"][0]["location"]["start"]
    assert location["line"] == 2
    assert f"Line 2, column {location['column']}" in html
    start = location["index"]
    end = evaluation.problem["details"][0]["location"]["end"]["index"]
    marked = query[start:end]
    assert marked.strip()
    assert f'<mark data-testid="query-mark">{marked}</mark>' in html
    assert "https://croct.help/api/evaluation/invalid-query" in html
