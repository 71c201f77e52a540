"""Whom ``/setup`` may change: the backend trusts one Label Studio, and a project's server, token and epoch move
only when that Label Studio confirms it.

- The Label Studio is the configured one (``LABEL_STUDIO_URL`` / ``LABEL_STUDIO_HOST``), else the one that set
  the project up first. A ``/setup`` naming another is refused (403), unless the operator opts in
  (``TEXTAL_TRUST_SETUP_HOSTNAME=1``), and then it is logged.
- A hostname and token change only together, and a new token is stored only once that Label Studio accepts it,
  so nobody can send the stored token to a server of their choice.
- A new epoch for a known project (Label Studio's database recreated) retires the old project only when that
  Label Studio, asked with the stored token, says the project was created at that epoch.
- A hostname carrying credentials (``user:pw@``) is refused and never logged, and so is one carrying a path, a
  query or a fragment (only ``scheme://host[:port]``, or the configured URL exactly): the worker would call that
  path as its Label Studio with the stored token.

What a project is (its label config, strategy and settings) comes from Label Studio, not from a request body
(``settle_setup``, ``settle_config``). Without basic auth, ``textal serve`` asks the configured Label Studio for
the project's label config and records that; a /setup's settings (``extra_params``) are taken only when the /setup
carries a token that Label Studio accepts for the project (it sends its own). With ``LABEL_STUDIO_API_KEY``
where set, else the stored token, a /setup without such a token can only make the stored label config Label
Studio's. A request Label Studio cannot confirm (no key it accepts, Label Studio down) changes nothing of a known
project; a new project is then recorded with the body's label config only, none of its settings, until a
confirmed /setup. A request that passed basic auth is the operator's (or Label Studio's, which sends the
credentials set on the connection): its body is taken as it is. Without a configured Label Studio (in-process
use only: ``textal serve`` refuses to start without one) bodies are taken too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ml_backend.config import ServerSettings, project_params
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


def server_of(hostname: str, *, bare: bool = False) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased; BadRequest for anything else (``bare``: also for a URL that
    carries a path, a query or a fragment)."""
    parts = urlsplit(hostname.strip())
    if bare and (parts.path.strip("/") or parts.query or parts.fragment or "?" in hostname or "#" in hostname):
        raise BadRequest(
            "'hostname' must be Label Studio's address as scheme://host[:port], without a path, query "
            "or fragment (or exactly the LABEL_STUDIO_URL this backend serves)"
        )
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


def accept_setup(
    settings: ServerSettings,
    ref: ProjectRef,
    previous: ProjectState | None,
    stored_token: str | None,
    hostname: str | None,
    token: str | None,
) -> Accepted:
    """Decide what a /setup may change (see the module's docstring); raises BadRequest (403/409) otherwise."""
    if token is not None and not TOKEN_RE.match(token):
        raise BadRequest("'access_token' must be printable ASCII, at most 4096 characters")
    configured = server_of(settings.label_studio_url) if settings.label_studio_url else None
    exact = bool(
        hostname and settings.label_studio_url and hostname.strip().rstrip("/") == settings.label_studio_url.rstrip("/")
    )
    new_server = server_of(hostname, bare=not exact) if hostname else None
    known = server_of(previous.hostname) if previous is not None and previous.hostname else None
    trusted = configured or known
    if new_server and trusted and new_server != trusted:
        if not settings.trust_setup_hostname:
            raise BadRequest(
                f"this backend serves the Label Studio at {trusted}, not {new_server}; set "
                "LABEL_STUDIO_URL (or TEXTAL_TRUST_SETUP_HOSTNAME=1 to follow /setup)",
                status=403,
            )
        if not token:
            raise BadRequest("a /setup that moves a project to another Label Studio must send its token", status=403)
        log.warning(
            "project %s: /setup moves it to the Label Studio at %s (TEXTAL_TRUST_SETUP_HOSTNAME)", ref.id, new_server
        )
        trusted = new_server
    server = trusted or new_server
    retire = previous is not None and ref.epoch is not None and previous.epoch not in (None, ref.epoch)
    if retire:
        credential = token or stored_token
        if not (server and credential and _created_at(server, credential, ref)):
            raise BadRequest(
                f"project {ref.id} is known with another creation time; its Label Studio "
                f"({server or 'unknown'}) does not confirm that it was recreated",
                status=409,
            )
    if token and token != stored_token and previous is not None and not retire:
        if not (server and _token_works(server, token)):
            raise BadRequest(
                f"the token sent for project {ref.id} is refused by its Label Studio "
                f"({server or 'unknown'}); the stored one is kept",
                status=403,
            )
    keep = (
        ((settings.label_studio_url or "").rstrip("/") if exact else new_server)
        if hostname and new_server == server
        else None
    )
    return Accepted(keep, token, retire)


def _token_works(server: str, token: str) -> bool:
    try:
        answer = httpx.get(
            f"{server}/api/current-user/whoami",
            headers={"Authorization": f"Token {token}"},
            timeout=CHECK_TIMEOUT_S,
            follow_redirects=False,
        )
    except (httpx.HTTPError, httpx.InvalidURL, ValueError):
        return False
    return answer.status_code == 200


def _created_at(server: str, token: str, ref: ProjectRef) -> bool:
    """Whether the Label Studio at ``server`` holds project ``ref.id`` created at ``ref.epoch``."""
    try:
        answer = httpx.get(
            f"{server}/api/projects/{ref.id}/",
            headers={"Authorization": f"Token {token}"},
            timeout=CHECK_TIMEOUT_S,
            follow_redirects=False,
        )
        created = answer.json().get("created_at") if answer.status_code == 200 else None
        stamp = datetime.fromisoformat(str(created).replace("Z", "+00:00")) if created else None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError):
        return False
    return stamp is not None and int(stamp.timestamp()) == ref.epoch


# -- what a project is: Label Studio's word, not a request body's ------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """What a /setup records: the label config, and the strategy and settings (None: keep the stored ones;
    ``""`` strategy: back to the server's)."""

    label_config: str
    strategy: str | None
    params: dict[str, Any] | None
    source: str  # "credentials", "token", "Label Studio", "unconfirmed" or "in-process"


def trusts_bodies(settings: ServerSettings) -> bool:
    """Whether request bodies are taken as they are: every request passed basic auth, or no Label Studio is
    configured (in-process use only)."""
    authenticated = settings.basic_auth_user is not None and settings.basic_auth_pass is not None
    return authenticated or not settings.label_studio_url


def settle_setup(
    settings: ServerSettings,
    ref: ProjectRef,
    previous: ProjectState | None,
    stored_token: str | None,
    token: str | None,
    schema: str,
    extra: dict[str, Any] | None,
) -> Settled:
    """What a /setup may record (see the module's docstring). ``extra``: the body's extra_params, already checked
    (None: it sent none). Raises BadRequest (404) when Label Studio says it holds no such project.

    The label config is always Label Studio's where it can be asked. The settings in ``extra`` are taken only from
    a caller that holds a token the configured Label Studio accepts for this very project: Label Studio itself
    (it sends the project creator's) or one of its users, who could change the connection's settings there
    anyway. (Label Studio's API cannot be asked for the connection's settings from inside a /setup: listing the
    connections makes it call every backend's /setup again.)"""
    if trusts_bodies(settings):
        strategy, params = _split(extra) if extra is not None else (None, None)
        return Settled(schema, strategy, params, "credentials" if settings.basic_auth_user else "in-process")
    held = ask_studio(settings, ref.id, [token], with_key=False) if token else None
    if held is not None:
        strategy, params = _split(extra) if extra is not None else (None, None)
        return Settled(held, strategy, params, "token")
    held = ask_studio(settings, ref.id, [stored_token])
    if held is not None:
        if schema != held or extra is not None:
            log.warning(
                "project %s: a /setup without a token Label Studio accepts: its settings are not taken, and "
                "the label config is Label Studio's",
                ref.id,
            )
        return Settled(held, None, None, "Label Studio")
    if previous is not None:
        if schema != previous.label_config or extra is not None:
            log.warning(
                "project %s: /setup not confirmed by Label Studio (no key it accepts, or it did not answer): "
                "nothing of the project changes",
                ref.id,
            )
        return Settled(previous.label_config, None, None, "unconfirmed")
    return Settled(schema, None, {}, "unconfirmed")


def settle_config(
    settings: ServerSettings, state: ProjectState, stored_token: str | None, label_config: str
) -> str | None:
    """The label config a /predict that sent ``label_config`` (unlike the stored one) makes the project's: the
    body's when bodies are trusted, else Label Studio's when it differs from the stored one; None: keep it."""
    if trusts_bodies(settings):
        return label_config
    try:
        held = ask_studio(settings, state.id, [stored_token])
    except BadRequest:
        return None
    if held is None or held == state.label_config:
        return None
    return held


def _split(extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(strategy, params) of checked extra_params: an empty object resets both (``""``: the server's strategy)."""
    strategy = extra.get("strategy")
    return strategy if isinstance(strategy, str) else "", project_params(extra)


def ask_studio(
    settings: ServerSettings, project_id: int, tokens: list[str | None], with_key: bool = True
) -> str | None:
    """The project's label config as the configured Label Studio holds it, asked with the configured key (unless
    not ``with_key``), else each token in turn (a refused one is skipped); None when it cannot be asked (no key it
    accepts, unreachable, an answer that is not Label Studio's). BadRequest (404) when it holds no such project.
    Never sends a key anywhere but the configured server."""
    server = settings.label_studio_url
    if not server:
        return None
    keys = [k for k in [settings.label_studio_key if with_key else None, *tokens] if k and TOKEN_RE.match(k)]
    for key in dict.fromkeys(keys):
        try:
            answer = httpx.get(
                f"{server}/api/projects/{project_id}/",
                headers={"Authorization": f"Token {key}"},
                timeout=CHECK_TIMEOUT_S,
                follow_redirects=False,
            )
            if answer.status_code in (401, 403):
                continue
            if answer.status_code == 404:
                raise BadRequest(f"the Label Studio at {server_of(server)} has no project {project_id}", status=404)
            config = answer.json().get("label_config") if answer.status_code == 200 else None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, AttributeError):
            return None
        return config if isinstance(config, str) else None
    return None
