"""Sign-in for the dashboard: password hashes, users and roles, signed sessions, CSRF.

- Password hashes are ``scrypt$N$r$p$salt$hash`` (stdlib ``hashlib.scrypt``, base64).
- Users come from the config; each one's hash from the environment variable it names or
  from the secrets file (``name:role:hash`` lines). Nothing secret is in the repository.
- The session cookie is signed and time-limited (``itsdangerous``); it carries the user
  name and a per-session CSRF nonce. The role is looked up on every request, so a
  changed role takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from schemas.config.dashboard import DashboardConfig
from schemas.errors import ConfigError

log = logging.getLogger(__name__)

Role = Literal["viewer", "crew"]
_SCRYPT = (2**14, 8, 1)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Hash a password for the config's secrets (scrypt, random salt)."""
    n, r, p = _SCRYPT
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded`` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        want = base64.urlsafe_b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.urlsafe_b64decode(salt),
                             n=int(n), r=int(r), p=int(p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


@dataclass(frozen=True)
class User:
    """A signed-in person."""

    name: str
    role: Role

    @property
    def can_act(self) -> bool:
        """Crew may acknowledge alerts and record labels; viewers only read."""
        return self.role == "crew"


class UserStore:
    """Users with their roles and password hashes."""

    def __init__(self, users: Mapping[str, tuple[Role, str]]) -> None:
        self._users = dict(users)

    @classmethod
    def from_config(cls, cfg: DashboardConfig, environ: Mapping[str, str],
                    base_dir: Path) -> UserStore:
        """Users of the config, hashes from the environment or the secrets file."""
        users: dict[str, tuple[Role, str]] = {}
        if cfg.users_file is not None:
            users.update(_read_users_file(cfg.users_file if cfg.users_file.is_absolute()
                                          else base_dir / cfg.users_file))
        for u in cfg.users:
            digest = environ.get(u.password_hash_env, "")
            if digest:
                users[u.name] = (u.role, digest)
            elif u.name not in users:
                log.warning("dashboard user %s has no password hash in $%s: cannot sign in",
                            u.name, u.password_hash_env)
        return cls(users)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same work either way)."""
        role, digest = self._users.get(name, ("viewer", _DUMMY_HASH))
        ok = verify_password(password, digest)
        return User(name, role) if ok and name in self._users else None

    def get(self, name: str) -> User | None:
        """The user by name, with the current role."""
        entry = self._users.get(name)
        return User(name, entry[0]) if entry else None

    def __len__(self) -> int:
        return len(self._users)


_DUMMY_HASH = hash_password("not a password", salt=b"0" * 16)


def _read_users_file(path: Path) -> dict[str, tuple[Role, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError("dashboard.users_file", f"cannot read {path}: {exc.strerror}") from exc
    users: dict[str, tuple[Role, str]] = {}
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":", 2)
        if len(parts) != 3 or parts[1] not in ("viewer", "crew"):
            raise ConfigError("dashboard.users_file",
                              f"{path} line {no}: expected name:viewer|crew:hash")
        role: Role = "crew" if parts[1] == "crew" else "viewer"
        users[parts[0]] = (role, parts[2])
    return users


@dataclass(frozen=True)
class Session:
    """What the session cookie carries."""

    user: str
    csrf: str


class SessionSigner:
    """Signs and checks session cookies and login nonces."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        if len(secret) < 16:
            raise ConfigError("dashboard.session_secret_env",
                              "the session secret must have at least 16 characters")
        self._s = URLSafeTimedSerializer(secret, salt="wheelwatch-session")
        self._login = URLSafeTimedSerializer(secret, salt="wheelwatch-login")
        self.max_age_s = max_age_s

    def issue(self, user: str) -> tuple[str, Session]:
        """A new signed cookie value for ``user`` with a fresh CSRF nonce."""
        sess = Session(user, secrets.token_urlsafe(24))
        return self._s.dumps({"u": sess.user, "c": sess.csrf}), sess

    def read(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None if missing, forged or expired."""
        if not cookie:
            return None
        try:
            data = self._s.loads(cookie, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            return None
        return Session(data["u"], str(data.get("c", "")))

    def login_nonce(self) -> tuple[str, str]:
        """(cookie value, form token) pair that protects the sign-in form."""
        nonce = secrets.token_urlsafe(18)
        return self._login.dumps(nonce), nonce

    def check_login_nonce(self, cookie: str | None, token: str) -> bool:
        """True if the form token matches the signed pre-login cookie."""
        if not cookie or not token:
            return False
        try:
            nonce = self._login.loads(cookie, max_age=3600)
        except BadSignature:
            return False
        return isinstance(nonce, str) and hmac.compare_digest(nonce, token)


def csrf_ok(expected: str, token: str | None) -> bool:
    """True if the submitted CSRF token is the session's (both non-empty)."""
    return bool(expected) and bool(token) and hmac.compare_digest(expected, token or "")
