"""Which Label Studio, key and backend a project command (``init``, ``export``) uses: the ones named (flag,
environment), else those of the ``textal up`` folder (``.textal/``: its ``ls-key`` and ``ports.json``), so that
the commands ``textal up`` prints work as printed, in a shell that set nothing.

The folder's key goes only to the folder's own Label Studio, never to a URL named elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ml_backend.config import DEFAULT_LABEL_STUDIO_URL, LABEL_STUDIO_KEY_ENV, BasicCredentials, LabelStudioOverride
from ml_backend.stack.up import StackError, StackHome


@dataclass(frozen=True)
class StudioAccess:
    """A Label Studio URL, its API key and where the key came from (named in errors; the key never is)."""

    url: str
    api_key: str
    key_source: str  # LABEL_STUDIO_API_KEY, or the key file's path
    backend_url: str | None = None  # the folder's textal serve, when the folder's Label Studio is used
    backend_auth: BasicCredentials | None = None  # and its basic auth

    def __repr__(self) -> str:  # never the key
        return f"StudioAccess({self.url!r}, key from {self.key_source})"


@dataclass(frozen=True)
class SavedStack:
    """What a ``textal up`` folder keeps of its servers: Label Studio's URL, the admin's key, the backend's URL."""

    url: str
    api_key: str
    key_file: Path
    backend_url: str | None
    backend_auth: BasicCredentials | None = None


def saved_stack(home: Path) -> SavedStack | None:
    """The Label Studio ``textal up`` ran over ``home`` (its port and key), or None if it never ran there."""
    folder = StackHome(Path(home))
    ports = folder.ports()
    try:
        key = folder.key_file.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not key or "label_studio" not in ports:
        return None
    backend = f"http://127.0.0.1:{ports['backend']}" if "backend" in ports else None
    return SavedStack(
        f"http://127.0.0.1:{ports['label_studio']}",
        key,
        folder.key_file,
        backend,
        folder.backend_auth() if backend else None,
    )


def studio_access(home: Path, url: str | None = None, env: LabelStudioOverride | None = None) -> StudioAccess:
    """The URL (``url``, else the environment's, else the folder's, else localhost:8080) and a key for it (the
    environment's, else the folder's when the URL is the folder's); StackError (one line) when there is none."""
    env = env or LabelStudioOverride.read()
    saved = saved_stack(home)
    chosen = (url or env.url or (saved.url if saved else DEFAULT_LABEL_STUDIO_URL)).rstrip("/")
    if env.api_key:
        return StudioAccess(chosen, env.api_key, LABEL_STUDIO_KEY_ENV)
    if saved is not None and _same_server(chosen, saved.url):
        return StudioAccess(chosen, saved.api_key, str(saved.key_file), saved.backend_url, saved.backend_auth)
    raise StackError(_no_key(chosen, home, saved))


def _same_server(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        return u.rstrip("/").replace("://localhost:", "://127.0.0.1:")

    return norm(a) == norm(b)


def _no_key(url: str, home: Path, saved: SavedStack | None) -> str:
    where = f"{home}/ls-key is for {saved.url}, not {url}" if saved else f"no `textal up` ran over {home}"
    return (
        f"no API key for Label Studio at {url}: set {LABEL_STUDIO_KEY_ENV} (Account & Settings > Access Token), "
        f"or run this where `textal up` ran, or give its --home ({where})"
    )
