from celery import shared_task

from portal.accounts.signin_throttle import stale_rows_delete


@shared_task(name="accounts.sign_in_throttle_sweep", ignore_result=True)
def sign_in_throttle_sweep_task() -> None:
    """Forget sign-in throttle rows that have nothing left to remember."""
    stale_rows_delete()
