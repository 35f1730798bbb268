from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "dashboard.calls"
    label = "calls"
    verbose_name = "API call log"

    def ready(self) -> None:
        from celery.signals import task_postrun, worker_process_shutdown
        from django.core.signals import request_finished

        from dashboard.calls.recorder import flush_call_log

        # A unit of work ends with its call-log rows written (see recorder.py).
        task_postrun.connect(flush_call_log, weak=False, dispatch_uid="calls.flush.task")
        worker_process_shutdown.connect(
            flush_call_log, weak=False, dispatch_uid="calls.flush.worker"
        )
        request_finished.connect(flush_call_log, weak=False, dispatch_uid="calls.flush.request")
