from celery import shared_task
from django.db import InterfaceError, OperationalError

from dashboard.accounts import rotation
from dashboard.accounts.scheduled_checks import account_checks_queue_synthetic
from dashboard.accounts.services import account_check_run

# A database that is briefly unreachable (a dropped connection, a failover, SQLite's
# lock) is worth a few retries: the services write each outcome in one transaction and
# are idempotent, so a retry after a partial run finishes the job (at worst repeating
# the provider's verify call, which changes nothing there).
DATABASE_ERRORS = (OperationalError, InterfaceError)


def _resuming(task) -> bool:
    """This attempt takes over a check its own message already started: a retry, or a
    message redelivered because the worker running it died."""
    request = task.request
    return bool(request.retries) or bool((request.delivery_info or {}).get("redelivered"))


@shared_task(
    bind=True,
    name="accounts.run_check",
    autoretry_for=DATABASE_ERRORS,
    max_retries=3,
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
)
def run_account_check(self, check_id: int) -> str:
    return account_check_run(check_id=check_id, resume=_resuming(self)).status


@shared_task(
    bind=True,
    name="accounts.verify_credential",
    autoretry_for=DATABASE_ERRORS,
    max_retries=3,
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
)
def verify_credential(self, check_id: int) -> str:
    """Verify a pending key (by its check's id) and promote or fail it."""
    return rotation.credential_verify_run(check_id=check_id, resume=_resuming(self)).state


@shared_task(
    name="accounts.revoke_expired_credentials",
    autoretry_for=DATABASE_ERRORS,
    max_retries=3,
    retry_backoff=5,
)
def revoke_expired_credentials() -> int:
    return rotation.credentials_revoke_expired()


@shared_task(name="accounts.synthetic_checks")
def queue_synthetic_checks() -> int:
    return len(account_checks_queue_synthetic())
