"""Superset's configuration for Aspects, derived from the runtime file (see runtime.py).

Loaded by Superset through SUPERSET_CONFIG_PATH, which our entry points set.
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.security.manager import AUTH_DB, AUTH_OAUTH

from aspects_superset.lms import ROLES_MAPPING
from aspects_superset.runtime import load
from aspects_superset.security import AspectsSecurityManager

_runtime = load()

SECRET_KEY = _runtime.secret_key
SQLALCHEMY_DATABASE_URI = _runtime.metadata_db_uri
CUSTOM_SECURITY_MANAGER = AspectsSecurityManager
ENABLE_PROXY_FIX = _runtime.proxy_fix


# Every cache on disk, shared by all gunicorn workers: Superset's defaults are per-process
# memory caches, which break explore state and filter state across workers.
def _cache(name: str, timeout: int) -> dict[str, Any]:
    return {
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": str(_runtime.cache_dir / name),
        "CACHE_DEFAULT_TIMEOUT": timeout,
        "CACHE_KEY_PREFIX": f"aspects_{name}_",
        "CACHE_THRESHOLD": 10000,
    }


CACHE_CONFIG = _cache("metadata", 300)
DATA_CACHE_CONFIG = _cache("data", 300)
FILTER_STATE_CACHE_CONFIG = _cache("filter_state", 86400)
EXPLORE_FORM_DATA_CACHE_CONFIG = _cache("explore", 86400)

FEATURE_FLAGS = {
    # Row-level security is the per-course boundary: no user-written subqueries, no Jinja.
    "ALLOW_ADHOC_SUBQUERY": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
    "DASHBOARD_NATIVE_FILTERS": True,
}
PUBLIC_ROLE_LIKE = None
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_HTTPONLY = True
CSV_EXPORT = {"encoding": "utf-8"}
THUMBNAILS = False
LOGO_TARGET_PATH = "/dashboard/list/"

if _runtime.lms is not None:
    _lms = _runtime.lms
    AUTH_TYPE = AUTH_OAUTH
    AUTH_USER_REGISTRATION = True
    AUTH_USER_REGISTRATION_ROLE = None  # roles come from the LMS only (security.py)
    AUTH_ROLES_SYNC_AT_LOGIN = True
    AUTH_ROLES_MAPPING = ROLES_MAPPING
    OAUTH_PROVIDERS = [
        {
            "name": "openedxsso",
            "icon": "fa-sign-in",
            "token_key": "access_token",
            "remote_app": {
                "client_id": _lms.client_id,
                "client_secret": _lms.client_secret,
                "client_kwargs": {"scope": _lms.scope},
                "access_token_method": "POST",
                "access_token_params": {"token_type": "jwt"},
                "api_base_url": _lms.url.rstrip("/") + "/",
                "authorize_url": _lms.browser_url.rstrip("/") + "/oauth2/authorize/",
                "access_token_url": _lms.url.rstrip("/") + "/oauth2/access_token/",
            },
        }
    ]
else:
    AUTH_TYPE = AUTH_DB
    AUTH_USER_REGISTRATION = False
