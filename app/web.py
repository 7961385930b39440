"""The web process's entry point: `granian --interface rsgi ... app.web:app` (Procfile).

Klaxon's Flask app behind the front that reads request bodies on the event loop, under a
deadline, after the checks the headers allow (app/front.py). `app.wsgi:app` stays the bare
WSGI app, for other WSGI servers and the tests.
"""

from app import create_app
from app.front import Front

app = Front(create_app())
