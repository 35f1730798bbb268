"""Two admins rotating the same account at the same moment: one wins, the other gets a
clear message, and the account never has two active (or two pending) keys."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from dashboard.accounts import rotation
from tests.accounts.conftest import NEW_KEY, OTHER_KEY
from tests.conftest import make_user


def run_together(*calls):
    """Run each call in its own thread, released together; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_admins_adding_keys_at_once_one_wins_the_other_is_told_why(demo_account, sandbox):
    account = demo_account("croct", name="Contended")
    alice, bob = make_user("admin", "alice"), make_user("admin", "bob")

    results = run_together(
        lambda: rotation.credential_add(
            account=account, secrets={"api_key": NEW_KEY}, actor=alice, enqueue=False
        ),
        lambda: rotation.credential_add(
            account=account, secrets={"api_key": OTHER_KEY}, actor=bob, enqueue=False
        ),
    )

    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert isinstance(losers[0], rotation.RotationConflict), repr(losers[0])
    # Which words depends on where the loser was stopped (the pending check, the
    # constraint, or a database that reports the lock): each says someone else is rotating.
    assert str(losers[0]).startswith("Another ")
    assert account.credentials.filter(state="pending").count() == 1
    assert account.credentials.filter(state="active").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_promotion_and_a_rollback_racing_leave_exactly_one_active_key(demo_account, sandbox):
    account = demo_account("commanders_act", name="Racing")
    admin = make_user("admin", "carol")
    first = rotation.credential_add(
        account=account, secrets={"source_key": "Zmlyc3Qta2V5LXNvdXJjZQ=="}, actor=admin
    )
    rotation.credential_promote(credential=first, actor=admin, confirmed=True)
    second = rotation.credential_add(
        account=account, secrets={"source_key": "c2Vjb25kLWtleS1zb3VyY2U="}, actor=admin
    )

    results = run_together(
        lambda: rotation.credential_promote(credential=second, actor=admin, confirmed=True),
        lambda: rotation.credential_promote(credential=second, actor=admin, confirmed=True),
        lambda: rotation.credential_rollback(account=account, actor=admin),
    )

    promotions = results[:2]
    assert sum(not isinstance(r, Exception) for r in promotions) <= 1, results
    for r in results:
        assert r is None or not isinstance(r, Exception) or isinstance(r, rotation.RotationError), (
            repr(r)
        )
    assert account.credentials.filter(state="active").count() == 1
    assert account.credentials.filter(state="pending").count() <= 1
