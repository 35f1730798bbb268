from celery import shared_task
from django.db import OperationalError

from dashboard.accounts import rotation
from dashboard.accounts.services import account_check_run


@shared_task(name="accounts.run_check")
def run_account_check(check_id: int) -> str:
    return account_check_run(check_id=check_id).status


# A database busy with another writer (SQLite's lock) is worth a few retries: the
# service is idempotent, so a retry after a partial run finishes the job (at worst
# repeating the provider's verify call, which changes nothing there).
@shared_task(
    name="accounts.verify_credential",
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=1,
    retry_jitter=True,
)
def verify_credential(check_id: int) -> str:
    """Verify a pending key (by its check's id) and promote or fail it."""
    return rotation.credential_verify_run(check_id=check_id).state


@shared_task(
    name="accounts.revoke_expired_credentials",
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=5,
)
def revoke_expired_credentials() -> int:
    return rotation.credentials_revoke_expired()
