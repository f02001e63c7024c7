"""The dashboard's FastAPI application: sign-in, security headers, static files.

Pages and the JSON API are in :mod:`cloud.dashboard.routes`. Build the app with
:func:`create_app` from its dependencies (ports, users, session signer, settings);
``cloud.dashboard.bootstrap`` builds those from the site config.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import plotly
from fastapi import FastAPI, Form, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from cloud.dashboard.auth import SessionSigner, User, UserStore, csrf_ok
from cloud.dashboard.ports import DashboardActions, DashboardQueries, ScanImages
from schemas.config.alerts import SeverityConfig
from schemas.config.dashboard import DashboardConfig

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
SESSION_COOKIE = "ww_session"
LOGIN_COOKIE = "ww_login"
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'")


@dataclass
class DashboardDeps:
    """Everything the app needs, built by ``bootstrap`` (or by tests, with fakes)."""

    queries: DashboardQueries
    actions: DashboardActions
    images: ScanImages
    users: UserStore
    signer: SessionSigner
    cfg: DashboardConfig
    site: str
    threshold: float = 70.0
    severity: SeverityConfig | None = None  # the alerts' bands (default: their defaults)


class LoginThrottle:
    """Refuses a user name for ``window_s`` after ``limit`` failed sign-ins in that window."""

    def __init__(self, limit: int = 5, window_s: float = 300.0) -> None:
        self._limit = limit
        self._window = window_s
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str) -> list[float]:
        now = time.monotonic()
        kept = [t for t in self._fails.get(name, []) if now - t < self._window]
        self._fails[name] = kept
        return kept

    def blocked(self, name: str) -> bool:
        """True while the name has too many recent failures."""
        with self._lock:
            return len(self._recent(name)) >= self._limit

    def failed(self, name: str) -> None:
        """Count a failed sign-in."""
        with self._lock:
            self._recent(name).append(time.monotonic())
            if len(self._fails) > 10_000:  # bounded memory under a name-spraying attack
                self._fails.clear()

    def reset(self, name: str) -> None:
        """Forget the failures after a successful sign-in."""
        with self._lock:
            self._fails.pop(name, None)


class NeedLogin(Exception):
    """Raised by routes when no valid session is present."""


def safe_next(target: str | None) -> str:
    """A local path to go back to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def current_user(request: Request) -> User | None:
    """The signed-in user (role looked up now), or None."""
    deps: DashboardDeps = request.app.state.deps
    sess = deps.signer.read(request.cookies.get(SESSION_COOKIE))
    if sess is None:
        return None
    request.state.csrf = sess.csrf
    return deps.users.get(sess.user)


def create_app(deps: DashboardDeps) -> FastAPI:
    """The dashboard app over ``deps``."""
    from cloud.dashboard.routes import router

    app = FastAPI(title="WheelWatch dashboard", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.deps = deps
    app.state.throttle = LoginThrottle()
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.include_router(router)
    _add_security(app)
    _add_login(app)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    return app


def _add_security(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(request: Request,
                      call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        ms = (time.perf_counter() - start) * 1000
        response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, _exc: NeedLogin) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign-in required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(safe_next(target))}", status_code=303)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}


def _login_page(request: Request, nxt: str, error: str = "", status: int = 200) -> Response:
    deps: DashboardDeps = request.app.state.deps
    cookie, token = deps.signer.login_nonce()
    resp = request.app.state.templates.TemplateResponse(
        request, "login.html", {"next": safe_next(nxt), "csrf": token, "error": error,
                                "site": deps.site, "user": None}, status_code=status)
    resp.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict",
                    secure=deps.cfg.secure_cookies, max_age=3600)
    return resp


def _add_login(app: FastAPI) -> None:
    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        return _login_page(request, next)

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              csrf: str = Form(""), next: str = Form("/")) -> Response:
        deps: DashboardDeps = request.app.state.deps
        if not deps.signer.check_login_nonce(request.cookies.get(LOGIN_COOKIE), csrf):
            return _login_page(request, next, "The sign-in form expired; try again.", 400)
        name = username[:64]
        throttle: LoginThrottle = request.app.state.throttle
        if throttle.blocked(name):
            return _login_page(request, next, "Too many failed sign-ins; wait a few minutes.",
                               429)
        user = deps.users.authenticate(name, password[:256])
        if user is None:
            throttle.failed(name)
            log.info("failed sign-in for %r", name)
            return _login_page(request, next, "Wrong user name or password.", 401)
        throttle.reset(name)
        cookie, _sess = deps.signer.issue(user.name)
        resp = RedirectResponse(safe_next(next), status_code=303)
        resp.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax",
                        secure=deps.cfg.secure_cookies, max_age=deps.signer.max_age_s)
        resp.delete_cookie(LOGIN_COOKIE)
        log.info("%s signed in (%s)", user.name, user.role)
        return resp

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        if current_user(request) is not None and not csrf_ok(
                getattr(request.state, "csrf", ""), csrf):
            return JSONResponse({"detail": "bad or missing CSRF token"}, status_code=403)
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp
