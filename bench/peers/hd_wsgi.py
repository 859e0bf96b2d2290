"""WSGI entry point of the django-helpdesk bench project (served by gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peers.hd_settings")
application = get_wsgi_application()
