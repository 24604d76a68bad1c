from celery import shared_task


@shared_task(name="ops.heartbeat", bind=True, ignore_result=True)
def heartbeat_task(self) -> None:
    from portal.ops.services import heartbeat_record

    heartbeat_record(worker=self.request.hostname or "unknown")
