"""Models an older textal saved as pickles (``joblib``), rewritten as data: ``textal store convert --trust-pickles``.

Converting unpickles, and unpickling runs whatever code the file names: call this only on files the user
said they trust. Loading never comes here (``LinearClassifier.load`` and ``EmbedHeadClassifier.load``
refuse a pickle without reading it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textal.errors import ModelError
from textal.models.classifier import read_meta
from textal.models.saved_state import state_files, write_state

# kind -> (pickle file an older textal wrote, state name it becomes, its parts from the unpickled object)
LEGACY_FILES: dict[str, tuple[str, str]] = {
    "linear": ("linear.joblib", "linear"),
    "embed-head": ("head.joblib", "head"),
}


def pickled_files(path: str | Path) -> list[str]:
    """The pickles an older textal left in the saved model folder ``path`` (names, relative to it)."""
    try:
        kind = read_meta(path).get("kind")
    except ModelError:
        return []
    legacy = LEGACY_FILES.get(kind) if isinstance(kind, str) else None
    return [legacy[0]] if legacy and (Path(path) / legacy[0]).is_file() else []


def _parts(kind: str, unpickled: Any) -> dict[str, Any]:
    if kind == "linear":
        if not isinstance(unpickled, dict) or not {"word", "char", "head", "svd"} <= set(unpickled):
            raise ModelError("not a linear model's parts")
        return {key: unpickled[key] for key in ("word", "char", "head", "svd")}
    return {"head": unpickled}


def convert_pickled_model(path: str | Path) -> list[str]:
    """UNSAFE (unpickles): rewrite the pickles of the saved model ``path`` as data, check the model loads from the
    data, then delete the pickles. Returns the names of the files converted (none when there were none)."""
    import joblib

    from textal.models import load_classifier

    path = Path(path)
    files = pickled_files(path)
    if not files:
        return []
    kind = read_meta(path)["kind"]
    file, state = LEGACY_FILES[kind]
    try:
        unpickled = joblib.load(path / file)
    except Exception as exc:  # a pickle that is not one, or needs a class that no longer exists
        raise ModelError(f"{path / file}: cannot be read ({type(exc).__name__}: {str(exc)[:100]})") from None
    try:
        write_state(path, state, _parts(kind, unpickled))
        load_classifier(path)  # the data loads (its checks: the right parts, the right classes)
    except ModelError as exc:
        for written in state_files(path, state):
            written.unlink(missing_ok=True)
        raise ModelError(f"{path / file}: cannot be converted ({exc})") from None
    (path / file).unlink()
    return files
