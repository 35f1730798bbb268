"""Switchyard: the Django project (settings, Celery app, URL root) and its apps."""

from dashboard.celery import app as celery_app

__all__ = ["celery_app"]
