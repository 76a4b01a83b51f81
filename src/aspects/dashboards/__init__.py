"""Superset dashboards, from the main package's side.

Superset lives in its own virtualenv (it pins SQLAlchemy < 2); this package creates that
virtualenv, writes the runtime file Superset's side reads (``aspects_superset.runtime``), runs
the idempotent bootstrap and starts gunicorn. It never imports Superset.
"""
