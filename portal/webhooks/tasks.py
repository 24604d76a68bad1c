"""The webhooks' Celery tasks, for Celery's discovery (it imports each app's tasks
module). They are defined in ``services``, beside the services they run and that queue
them."""

from portal.webhooks.services import attempt_delivery_task, dispatch_event_task, sweep_task

__all__ = ["attempt_delivery_task", "dispatch_event_task", "sweep_task"]
