"""Password sign-in for the local admin only, also when single sign-on is on.

Flask-AppBuilder offers one authentication type: with OAuth (the LMS) there is no password
form at all, so the admin that ``aspects dashboards init`` creates could not sign in without
the LMS. This view, at ``/login/local/``, is that form, and it only ever accepts that account:

- the name must be the configured ``admin_username`` (SSO refuses that name, so the account
  is the one the CLI created) and the password must match its hash;
- every refusal looks the same (same message, same status, a password hash checked either
  way), so the form does not tell which names exist;
- repeated failures from one client address lock the form for that address for a while
  (counted on disk, so all gunicorn workers share the count);
- the form carries Flask-WTF's CSRF token, which Superset's CSRF protection also checks.
"""

from __future__ import annotations

import hmac
import time
from importlib.resources import files
from typing import Any

from cachelib import BaseCache
from flask import current_app, g, redirect, render_template_string, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.utils import is_null_password
from flask_appbuilder.utils.base import get_safe_redirect
from flask_login import login_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

REFUSED = "Invalid username or password."
LOCKED = "Too many failed sign-ins from your address. Try again later."


class LoginLocked(Exception):
    """Too many recent failures from this client address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(LOCKED)
        self.retry_after = retry_after


class FailureCounter:
    """Failed sign-ins per client address; ``lockout`` seconds after the last failure, the
    count starts again from zero."""

    def __init__(self, cache: BaseCache, max_failures: int, lockout: int) -> None:
        self.cache, self.max_failures, self.lockout = cache, max_failures, lockout

    def _key(self, address: str) -> str:
        return f"local-login-failures:{address}"

    def check(self, address: str) -> None:
        record = self.cache.get(self._key(address))
        if record and record["count"] >= self.max_failures:
            retry_after = int(record["at"] + self.lockout - time.time()) + 1
            if retry_after > 0:
                raise LoginLocked(retry_after)

    def failed(self, address: str) -> None:
        record = self.cache.get(self._key(address)) or {"count": 0}
        record = {"count": record["count"] + 1, "at": time.time()}
        self.cache.set(self._key(address), record, timeout=self.lockout)

    def succeeded(self, address: str) -> None:
        self.cache.delete(self._key(address))


def check_local_admin(sm: Any, admin_username: str, username: str, password: str) -> Any:
    """The admin's user when ``username``/``password`` are the local admin's, else None.

    The same work whatever the name: the admin's record is always read and one password hash
    always checked (Flask-AppBuilder's fake hash when the name is not the admin's).
    """
    admin = sm.find_user(username=admin_username)
    same_name = hmac.compare_digest(username.encode(), admin_username.encode())
    candidate = admin if same_name and admin is not None and admin.is_active else None
    stored = (
        candidate.password
        if candidate is not None and candidate.password
        else current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"]
    )
    matches = check_password_hash(stored, password)
    if candidate is None or not matches or is_null_password(password):
        return None
    return candidate


class LocalLoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=256)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _page(form: LocalLoginForm, message: str | None, status: int) -> Any:
    template = files("aspects_superset").joinpath("templates/local_login.html").read_text()
    return render_template_string(template, form=form, message=message), status


class LocalLoginView(BaseView):  # type: ignore[misc]
    route_base = "/login/local"
    default_view = "login"

    @expose("/", methods=["GET", "POST"])
    @no_cache  # type: ignore[misc]
    def login(self) -> Any:
        next_url = get_safe_redirect(request.args.get("next") or self.appbuilder.get_url_for_index)
        user = getattr(g, "user", None)
        if user is not None and user.is_authenticated:
            return redirect(next_url)
        form = LocalLoginForm()
        if request.method != "POST":
            return _page(form, None, 200)
        if not form.validate():  # incomplete form or CSRF token (also checked app-wide)
            return _page(form, REFUSED, 400)
        try:
            admin = self.appbuilder.sm.local_login(form.username.data, form.password.data)
        except LoginLocked as locked:
            body, status = _page(form, LOCKED, 429)
            return body, status, {"Retry-After": str(locked.retry_after)}
        if admin is None:
            return _page(form, REFUSED, 401)
        login_user(admin, remember=False)
        return redirect(next_url)
