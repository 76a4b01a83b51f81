"""Superset's security manager for Aspects: LMS single sign-on and per-course row filters.

- Login: the LMS's authorization-code flow (configured in superset_config). The JWT access token
  is verified against the LMS's JWKS (when configured), its claims and the LMS course-role API
  decide the role (see lms.py); users with no role are refused, and an SSO login can never take
  over the local admin account.
- Per-course access: every query of an Instructor on any dataset gets ``course_key IN (<their
  courses>)`` added as a row-level filter, or ``1 = 0`` when the dataset has no ``course_key``
  column: nothing is shown that is not provably theirs. Charts, dashboards, CSV/XLSX downloads
  and the chart-data API all build their SQL through the same path, so the filter holds for all
  of them; SQL Lab is not granted to Instructors at all.
- The course list is cached per user (on disk, shared by gunicorn workers) with a TTL, refreshed
  at every login and after the TTL with the user's LMS token (refreshed with its refresh token).
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple

import requests
from cachelib import FileSystemCache
from flask import g, request
from superset.security import SupersetSecurityManager

from aspects_superset import lms as lms_api
from aspects_superset.local_login import (
    FailureCounter,
    LocalLoginView,
    LoginLocked,
    check_local_admin,
)
from aspects_superset.runtime import Runtime, load

log = logging.getLogger(__name__)

UNRESTRICTED_ROLES = {lms_api.ROLE_ADMIN, lms_api.ROLE_OPERATOR}
TOKEN_TIMEOUT = 30 * 86400
COURSE_COLUMN = "course_key"


class CourseFilter(NamedTuple):
    """Shaped like the rows Superset's own get_rls_filters returns."""

    id: int
    group_key: str | None
    clause: str


class AspectsSecurityManager(SupersetSecurityManager):  # type: ignore[misc]
    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)
        self.aspects: Runtime = load()
        ttl = self.aspects.lms.course_roles_ttl if self.aspects.lms else 300
        self.course_ttl = ttl
        self.course_cache = FileSystemCache(
            str(self.aspects.cache_dir / "course_roles"), threshold=100000, default_timeout=ttl
        )
        self.login_failures = FailureCounter(
            FileSystemCache(str(self.aspects.cache_dir / "local_login"), threshold=100000),
            self.aspects.login_max_failures,
            self.aspects.login_lockout,
        )

    # --- login ------------------------------------------------------------------------------

    def _jwks(self) -> dict[str, Any] | None:
        lms = self.aspects.lms
        if lms is None or not lms.jwks_url:
            return None
        jwks = self.course_cache.get("jwks")
        if jwks is None:
            answer = requests.get(lms.jwks_url, timeout=10)
            answer.raise_for_status()
            jwks = answer.json()
            self.course_cache.set("jwks", jwks, timeout=3600)
        return dict(jwks)

    def lms_claims(self, token: str) -> dict[str, Any]:
        lms = self.aspects.lms
        assert lms is not None
        jwks = self._jwks()
        if jwks is None:
            return lms_api.unverified_claims(token)
        try:
            return lms_api.verify_token(token, jwks, lms.issuer, lms.client_id)
        except lms_api.LMSError:
            self.course_cache.delete("jwks")  # keys may have rotated: retry once, fresh
            jwks = self._jwks()
            assert jwks is not None
            return lms_api.verify_token(token, jwks, lms.issuer, lms.client_id)

    def oauth_user_info(self, provider: str, response: dict[str, Any] | None = None) -> Any:
        lms = self.aspects.lms
        if lms is None or response is None:
            raise lms_api.LMSError("single sign-on is not configured")
        token = response["access_token"]
        claims = self.lms_claims(token)
        username = claims.get("preferred_username")
        if not username:
            raise lms_api.LMSError("the access token names no user (scope profile missing?)")
        courses: list[str] = []
        if not (claims.get("superuser") or claims.get("administrator")):
            courses = lms_api.staff_courses(lms.api("/api/courses/v1/courses/"), token, username)
        self.remember_login(username, response, courses)
        return {
            "username": username,
            "email": claims.get("email") or "",
            "first_name": claims.get("given_name") or "",
            "last_name": claims.get("family_name") or "",
            "role_keys": lms_api.role_keys(claims, courses),
        }

    def auth_user_oauth(self, userinfo: dict[str, Any]) -> Any:
        username = userinfo.get("username")
        if not userinfo.get("role_keys"):
            log.warning("LMS user %s has no role that grants access to dashboards", username)
            return None
        if username == self.aspects.admin_username:
            # The local admin's name is not for LMS users: SSO must not take over that account.
            log.warning("refusing SSO login as %s: that is the local admin's name", username)
            return None
        return super().auth_user_oauth(userinfo)

    def _oauth_calculate_user_roles(self, userinfo: dict[str, Any]) -> list[Any]:
        # Our mapping only: FAB would also give every SSO user AUTH_USER_REGISTRATION_ROLE.
        return list(self.get_roles_from_keys(userinfo.get("role_keys", [])))

    # --- local password sign-in (the CLI's admin only; see local_login.py) ------------------

    def register_views(self) -> None:
        super().register_views()
        view = self.appbuilder.add_view_no_menu(LocalLoginView())
        if self.is_auth_limited:  # Superset's own limit too, when rate limiting is enabled
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)

    def local_login(self, username: str, password: str) -> Any:
        """The local admin for the right name and password, else None (refused alike);
        raises LoginLocked after too many failures from this client address."""
        address = request.remote_addr or "unknown"
        self.login_failures.check(address)
        user = check_local_admin(self, self.aspects.admin_username, username, password)
        if user is None:
            self.login_failures.failed(address)
            log.warning("refused local sign-in from %s", address)
            return None
        self.login_failures.succeeded(address)
        self.update_user_auth_stat(user, True)
        return user

    def auth_user_db(self, username: str, password: str) -> Any:
        # Flask-AppBuilder's own password form (/login/ without SSO) and login API: the same
        # rules as /login/local/ (the CLI's admin only, counted failures).
        try:
            return self.local_login(username, password)
        except LoginLocked:
            return None

    # --- course roles -----------------------------------------------------------------------

    def remember_login(self, username: str, token: dict[str, Any], courses: list[str]) -> None:
        self.course_cache.set(f"token:{username}", dict(token), timeout=TOKEN_TIMEOUT)
        self.course_cache.set(
            f"courses:{username}", {"courses": courses, "at": time.time()}, timeout=self.course_ttl
        )

    def user_courses(self, username: str) -> list[str]:
        """The courses an Instructor may see: cached, refreshed from the LMS after the TTL.
        Any failure to ask the LMS means no course at all (fail closed)."""
        cached = self.course_cache.get(f"courses:{username}")
        if cached is not None:
            return list(cached["courses"])
        try:
            courses = self._fetch_courses(username)
        except (lms_api.LMSError, requests.RequestException, KeyError) as error:
            log.warning("could not refresh the courses of %s: %s", username, error)
            courses = []
        self.course_cache.set(
            f"courses:{username}", {"courses": courses, "at": time.time()}, timeout=self.course_ttl
        )
        return courses

    def _fetch_courses(self, username: str) -> list[str]:
        lms = self.aspects.lms
        token = self.course_cache.get(f"token:{username}")
        if lms is None or token is None:
            raise lms_api.LMSError("no LMS token for this user: sign in again")
        url = lms.api("/api/courses/v1/courses/")
        try:
            return lms_api.staff_courses(url, token["access_token"], username)
        except lms_api.LMSError:
            if not token.get("refresh_token"):
                raise
        answer = requests.post(
            lms.api("/oauth2/access_token/"),
            data={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "token_type": "jwt",
            },
            auth=(lms.client_id, lms.client_secret),
            timeout=10,
        )
        if answer.status_code != 200:
            raise lms_api.LMSError(f"token refresh: HTTP {answer.status_code}")
        fresh = answer.json()
        self.course_cache.set(f"token:{username}", fresh, timeout=TOKEN_TIMEOUT)
        return lms_api.staff_courses(url, fresh["access_token"], username)

    # --- row-level security -----------------------------------------------------------------

    def get_rls_filters(self, table: Any) -> list[Any]:
        filters = list(super().get_rls_filters(table))
        user = getattr(g, "user", None)
        if user is None or getattr(user, "is_anonymous", True):
            return filters
        roles = {role.name for role in self.get_user_roles(user)}
        if roles & UNRESTRICTED_ROLES:
            return filters
        columns = {column.column_name for column in getattr(table, "columns", [])}
        if COURSE_COLUMN in columns:
            clause = lms_api.course_clause(self.user_courses(user.username), COURSE_COLUMN)
        else:
            clause = "1 = 0"
        filters.append(CourseFilter(id=-1, group_key=None, clause=clause))
        return filters

    # --- roles --------------------------------------------------------------------------------

    def sync_role_definitions(self) -> None:
        """Superset's roles, plus ours: ``superset init`` (run by our bootstrap) calls this.

        - Operator: Alpha plus SQL Lab (global staff see and query everything, no user admin).
        - Instructor: Gamma (no SQL Lab, no dataset editing) plus read access to every dataset,
          which the course row filter above narrows to their own courses; CSV/XLSX downloads.
        """
        super().sync_role_definitions()
        pvms = self._get_all_pvms()
        self.set_role(
            lms_api.ROLE_OPERATOR,
            lambda pvm: self._is_alpha_pvm(pvm) or self._is_sql_lab_pvm(pvm),
            pvms,
        )
        self.set_role(lms_api.ROLE_INSTRUCTOR, self._is_instructor_pvm, pvms)
        self.session.commit()

    def _is_instructor_pvm(self, pvm: Any) -> bool:
        name, view = pvm.permission.name, pvm.view_menu.name
        if self._is_sql_lab_only(pvm):
            return False
        if (name, view) in {
            ("all_datasource_access", "all_datasource_access"),
            ("can_csv", "Superset"),
        }:
            return True
        return bool(self._is_gamma_pvm(pvm))
