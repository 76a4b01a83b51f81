"""The WSGI application gunicorn serves: ``gunicorn aspects_superset.wsgi:application``."""

from aspects_superset import configure_environment

configure_environment()

from superset.app import create_app

application = create_app()
