"""WSGI entry point for gunicorn/granian: `app.wsgi:app`."""

from app import create_app

app = create_app()
