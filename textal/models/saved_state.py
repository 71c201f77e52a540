"""Learned state saved as data, never as code: JSON for structure and parameters, numpy ``.npz`` for arrays.

A pickle (``joblib``) runs whatever code its bytes name when it is loaded, so a model store that held
pickles would run code planted in it by anyone who could write one file there. Here an estimator is
saved the scikit-learn way round: its class (from a short allow-list), its ``__init__`` parameters, and
its learned attributes (the ones ending in ``_``, and the few private ones a fitted estimator keeps); on
load the class is built from its parameters and the learned attributes are set back. The arrays are
read with ``allow_pickle=False``, so nothing in a saved model can name code to run.

``write_state(folder, name, parts)`` writes ``name.npz`` then ``name.json`` (the JSON last: a reader
that finds it finds the arrays too); ``read_state(folder, name)`` gives ``parts`` back, equal to what
was saved (same classes, parameters, dtypes and values), so predictions are identical.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from textal.errors import ModelError
from textal.runtime.fsutil import atomic_write_bytes, atomic_write_text

STATE_FORMAT = "textal.state/1"
MAX_DEPTH = 32

# The only classes a saved state may name: label -> (module, class). Add a class here only if its learned state
# is plain data (arrays, numbers, strings, dicts, lists, tuples and other classes of this list).
ALLOWED_CLASSES: dict[str, tuple[str, str]] = {
    "sklearn.LogisticRegression": ("sklearn.linear_model", "LogisticRegression"),
    "sklearn.TfidfVectorizer": ("sklearn.feature_extraction.text", "TfidfVectorizer"),
    "sklearn.TfidfTransformer": ("sklearn.feature_extraction.text", "TfidfTransformer"),
    "sklearn.TruncatedSVD": ("sklearn.decomposition", "TruncatedSVD"),
    "textal.LogisticHead": ("textal.models.head", "LogisticHead"),
}

LEGACY_CONVERT = "textal store convert --trust-pickles"


class PickledModelError(ModelError):
    """A saved model whose learned state is a pickle (written by an older textal): it is never loaded."""

    def __init__(self, path: Path, files: list[str]) -> None:
        self.path = Path(path)
        self.files = files
        super().__init__(
            f"{path}: {', '.join(files)} is a pickle from an older textal, not loaded: pickles can run code. "
            f"If you trust it, convert its store once: {LEGACY_CONVERT} STORE"
        )


def state_files(folder: str | Path, name: str) -> tuple[Path, Path]:
    """The JSON and the arrays file of state ``name`` in ``folder``."""
    folder = Path(folder)
    return folder / f"{name}.json", folder / f"{name}.npz"


def has_state(folder: str | Path, name: str) -> bool:
    """Whether ``folder`` holds state ``name`` in this format."""
    return state_files(folder, name)[0].is_file()


def write_state(folder: str | Path, name: str, parts: dict[str, Any]) -> None:
    """Save ``parts`` (str -> estimator of ``ALLOWED_CLASSES``, array, number, string, None, list, tuple, dict)."""
    writer = _Writer()
    encoded = {str(key): writer.encode(value, 0) for key, value in parts.items()}
    meta_file, arrays_file = state_files(folder, name)
    _write_arrays(arrays_file, writer.arrays)
    atomic_write_text(meta_file, json.dumps({"format": STATE_FORMAT, "versions": _versions(), "parts": encoded}))


def read_state(folder: str | Path, name: str) -> dict[str, Any]:
    """The ``parts`` ``write_state`` saved as ``name`` in ``folder``; a ModelError for anything else."""
    meta_file, arrays_file = state_files(folder, name)
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{meta_file}: missing") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{meta_file}: unreadable ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT or not isinstance(meta.get("parts"), dict):
        raise ModelError(f"{meta_file}: not a saved state of this textal (format {STATE_FORMAT})")
    reader = _Reader(_read_arrays(arrays_file), meta_file)
    return {key: reader.decode(value, 0) for key, value in meta["parts"].items()}


# -- writing --------------------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import sklearn

    return {"numpy": np.__version__, "scikit-learn": sklearn.__version__}


def _write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)  # an object array fails here, not at load time: no pickle in a store
    atomic_write_bytes(path, buffer.getvalue())


def _class_label(obj: Any) -> str | None:
    for label, (module, name) in ALLOWED_CLASSES.items():
        if type(obj).__name__ == name and type(obj) is getattr(importlib.import_module(module), name):
            return label
    return None


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _array(self, value: np.ndarray) -> dict[str, str]:
        if value.dtype.hasobject:
            raise ModelError(f"cannot save an array of Python objects ({value.dtype}) as data")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return {"__array__": key}

    def encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ModelError("cannot save a state nested this deep")
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, np.generic):  # before float/int: np.float64 is a float
            if value.dtype.hasobject:
                raise ModelError(f"cannot save a {type(value).__name__} as data")
            return {"__scalar__": value.dtype.str, "value": value.item()}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(item, depth + 1) for item in value]}
        if isinstance(value, list):
            return [self.encode(item, depth + 1) for item in value]
        if isinstance(value, (set, frozenset)):  # stop words, say
            kind = "__frozenset__" if isinstance(value, frozenset) else "__set__"
            return {kind: [self.encode(item, depth + 1) for item in value]}
        if isinstance(value, dict):
            return self._dict(value, depth)
        if isinstance(value, type) and issubclass(value, np.generic):
            return {"__dtype__": np.dtype(value).str}
        label = _class_label(value)
        if label is not None:
            params = value.get_params(deep=False)
            state = {key: item for key, item in vars(value).items() if key not in params}
            return {
                "__estimator__": label,
                "params": {key: self.encode(item, depth + 1) for key, item in params.items()},
                "state": {key: self.encode(item, depth + 1) for key, item in state.items()},
            }
        raise ModelError(f"cannot save a {type(value).__module__}.{type(value).__qualname__} as data")

    def _dict(self, value: dict, depth: int) -> dict[str, Any]:
        values = list(value.values())
        if values and all(isinstance(key, str) for key in value):  # a vocabulary (term -> column)?
            # the terms in JSON, the columns as one array (numpy integers of one dtype, or Python ints)
            if all(isinstance(item, np.integer) for item in values) and len({item.dtype for item in values}) == 1:
                return {"__strmap__": list(value), "values": self._array(np.array(values, dtype=values[0].dtype))}
            if all(type(item) is int and -(2**63) <= item < 2**63 for item in values):
                return {
                    "__strmap__": list(value),
                    "values": self._array(np.array(values, dtype=np.int64)),
                    "python_int": True,
                }
        return {
            "__dict__": [[self.encode(key, depth + 1), self.encode(item, depth + 1)] for key, item in value.items()]
        }


# -- reading --------------------------------------------------------------------------------------------------


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except Exception as exc:  # a zip that is not one, an object array (refused without pickle), a cut-off file
        raise ModelError(f"{path}: unreadable ({type(exc).__name__}: {str(exc)[:100]})") from None


class _Reader:
    def __init__(self, arrays: dict[str, np.ndarray], source: Path) -> None:
        self.arrays = arrays
        self.source = source

    def fail(self, what: str) -> ModelError:
        return ModelError(f"{self.source}: {what}")

    def _array(self, ref: Any) -> np.ndarray:
        if not isinstance(ref, dict) or set(ref) != {"__array__"} or ref["__array__"] not in self.arrays:
            raise self.fail("an array it names is not in its .npz file")
        return self.arrays[ref["__array__"]]

    def decode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self.fail("nested too deep")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(item, depth + 1) for item in value]
        if not isinstance(value, dict) or len(value) == 0:
            raise self.fail(f"unexpected {type(value).__name__}")
        try:
            if "__array__" in value:
                return self._array(value)
            if "__scalar__" in value:
                return np.dtype(_dtype_text(value["__scalar__"])).type(value["value"])
            if "__dtype__" in value:
                return np.dtype(_dtype_text(value["__dtype__"])).type
            if "__tuple__" in value:
                return tuple(self.decode(item, depth + 1) for item in value["__tuple__"])
            if "__set__" in value or "__frozenset__" in value:
                members = value["__set__"] if "__set__" in value else value["__frozenset__"]
                items = [self._key(self.decode(item, depth + 1)) for item in members]
                return set(items) if "__set__" in value else frozenset(items)
            if "__strmap__" in value:
                keys, columns = value["__strmap__"], self._array(value["values"])
                if not all(isinstance(key, str) for key in keys) or len(keys) != len(columns) or columns.ndim != 1:
                    raise self.fail("a malformed vocabulary")
                return dict(zip(keys, columns.tolist() if value.get("python_int") is True else columns))
            if "__dict__" in value:
                return {self._key(self.decode(k, depth + 1)): self.decode(v, depth + 1) for k, v in value["__dict__"]}
            if "__estimator__" in value:
                return self._estimator(value, depth)
        except ModelError:
            raise
        except (TypeError, ValueError, KeyError) as exc:
            raise self.fail(f"malformed ({type(exc).__name__}: {str(exc)[:100]})") from None
        raise self.fail(f"unknown entry {sorted(value)[:3]}")

    @staticmethod
    def _key(key: Any) -> Any:
        if isinstance(key, (list, dict, np.ndarray)):
            raise TypeError("unhashable key")
        return key

    def _estimator(self, value: dict[str, Any], depth: int) -> Any:
        label = value["__estimator__"]
        if label not in ALLOWED_CLASSES:
            raise self.fail(f"names a class that is not allowed ({str(label)[:60]!r})")
        module, name = ALLOWED_CLASSES[label]
        cls = getattr(importlib.import_module(module), name)
        params, state = value.get("params"), value.get("state")
        if not isinstance(params, dict) or not isinstance(state, dict):
            raise self.fail(f"a malformed {name}")
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise self.fail(f"{name} has no parameter {unknown[0]!r} here (saved by another scikit-learn?)")
        obj = cls(**{key: self.decode(item, depth + 1) for key, item in params.items()})
        for key, item in state.items():
            if not key.isidentifier() or key.startswith("__") or key in accepted:
                raise self.fail(f"{name} has a malformed attribute {key[:60]!r}")
            setattr(obj, key, self.decode(item, depth + 1))
        return obj


def _dtype_text(text: Any) -> str:
    """A dtype string of plain data (numbers, booleans, fixed-width text); objects are refused."""
    if not isinstance(text, str) or np.dtype(text).hasobject or np.dtype(text).kind not in "biufcUS":
        raise ValueError(f"dtype {str(text)[:20]!r} is not plain data")
    return text
