"""Fixtures for the key-rotation tests."""

from __future__ import annotations

import pytest

# Well-formed Croct keys: the sandbox accepts any but those containing 0000dead.
NEW_KEY = "c0ffee00-1234-4abc-8def-5ec7e7ca0042"
OTHER_KEY = "feedface-4321-4cba-8fed-0a1b2c3d4e5f"
REJECTED_KEY = "0000dead-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def croct(demo_account):
    """A Croct account on the sandbox with its demo key active."""
    return demo_account("croct", name="Croct shop")


@pytest.fixture
def rotate_in_process():
    """``rotate_in_process(account, key)``: add a Croct key and run its verification
    here (no broker), as the verify task would. Returns the key, reloaded."""
    from dashboard.accounts import rotation

    def rotate(account, api_key: str, *, actor=None, overlap_hours: int | None = None):
        credential = rotation.credential_add(
            account=account,
            secrets={"api_key": api_key},
            actor=actor,
            overlap_hours=overlap_hours,
            enqueue=False,
        )
        check = rotation.latest_verification(credential)
        rotation.credential_verify_run(check_id=check.pk)
        credential.refresh_from_db()
        return credential

    return rotate
