from celery import shared_task

from dashboard.accounts.services import account_check_run


@shared_task(name="accounts.run_check")
def run_account_check(check_id: int) -> str:
    return account_check_run(check_id=check_id).status
