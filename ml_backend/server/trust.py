"""Whom ``/setup`` may change: the backend trusts one Label Studio, and a project's server, token and epoch move
only when that Label Studio confirms it.

- The Label Studio is the configured one (``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_HOST``), else the one that set
  the project up first. A ``/setup`` naming another is refused (403), unless the operator opts in
  (``TEXTAL_TRUST_SETUP_HOSTNAME=1``), and then it is logged.
- A hostname and token change only together, and a new token is stored only once that Label Studio accepts it,
  so nobody can send the stored token to a server of their choice.
- A new epoch for a known project (Label Studio's database recreated) retires the old project only when that
  Label Studio, asked with the stored token, says the project was created at that epoch.
- A hostname carrying credentials (``user:pw@``) is refused and never logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from ml_backend.config import ServerSettings
from ml_backend.server.requests import BadRequest
from ml_backend.state.projects import ProjectRef, ProjectState

log = logging.getLogger("ml_backend.server")

CHECK_TIMEOUT_S = 1.5  # Label Studio waits 3 s for /setup
TOKEN_RE = re.compile(r"^[\x21-\x7e]{1,4096}$")  # a legacy token (hex) or a JWT: what an HTTP header can carry


@dataclass(frozen=True)
class Accepted:
    """What a /setup may record: the server and token to keep (None: keep the stored ones), and whether the
    stored project is to be retired for a recreated one."""

    hostname: str | None  # as /setup sent it (a path prefix kept), or None: keep the stored one
    token: str | None
    retire: bool = False


def server_of(hostname: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; BadRequest for anything else."""
    parts = urlsplit(hostname.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("'hostname' must be Label Studio's http(s) address")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("'hostname' must not carry credentials (user:password@)")
    try:
        port = parts.port
    except ValueError:
        raise BadRequest("'hostname' has an invalid port") from None
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port and port != default else "")


def accept_setup(settings: ServerSettings, ref: ProjectRef, previous: ProjectState | None, stored_token: str | None,
                 hostname: str | None, token: str | None) -> Accepted:
    """Decide what a /setup may change (see the module's docstring); raises BadRequest (403/409) otherwise."""
    if token is not None and not TOKEN_RE.match(token):
        raise BadRequest("'access_token' must be printable ASCII, at most 4096 characters")
    new_server = server_of(hostname) if hostname else None
    configured = server_of(settings.label_studio_url) if settings.label_studio_url else None
    known = server_of(previous.hostname) if previous is not None and previous.hostname else None
    trusted = configured or known
    if new_server and trusted and new_server != trusted:
        if not settings.trust_setup_hostname:
            raise BadRequest(f"this backend serves the Label Studio at {trusted}, not {new_server}; set "
                             "LABEL_STUDIO_URL (or TEXTAL_TRUST_SETUP_HOSTNAME=1 to follow /setup)", status=403)
        if not token:
            raise BadRequest("a /setup that moves a project to another Label Studio must send its token", status=403)
        log.warning("project %s: /setup moves it to the Label Studio at %s (TEXTAL_TRUST_SETUP_HOSTNAME)", ref.id,
                    new_server)
        trusted = new_server
    server = trusted or new_server
    retire = previous is not None and ref.epoch is not None and previous.epoch not in (None, ref.epoch)
    if retire:
        if not (server and (token or stored_token) and _created_at(server, token or stored_token, ref)):
            raise BadRequest(f"project {ref.id} is known with another creation time; its Label Studio "
                             f"({server or 'unknown'}) does not confirm that it was recreated", status=409)
    if token and token != stored_token and previous is not None and not retire:
        if not (server and _token_works(server, token)):
            raise BadRequest(f"the token sent for project {ref.id} is refused by its Label Studio "
                             f"({server or 'unknown'}); the stored one is kept", status=403)
    keep = hostname.strip().rstrip("/") if hostname and new_server == server else None
    return Accepted(keep, token, retire)


def _token_works(server: str, token: str) -> bool:
    try:
        answer = httpx.get(f"{server}/api/current-user/whoami", headers={"Authorization": f"Token {token}"},
                           timeout=CHECK_TIMEOUT_S, follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        return False
    return answer.status_code == 200


def _created_at(server: str, token: str, ref: ProjectRef) -> bool:
    """Whether the Label Studio at ``server`` holds project ``ref.id`` created at ``ref.epoch``."""
    try:
        answer = httpx.get(f"{server}/api/projects/{ref.id}/", headers={"Authorization": f"Token {token}"},
                           timeout=CHECK_TIMEOUT_S, follow_redirects=False)
        created = answer.json().get("created_at") if answer.status_code == 200 else None
        stamp = datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError):
        return False
    return stamp is not None and int(stamp.timestamp()) == ref.epoch
