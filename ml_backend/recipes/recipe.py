"""A recipe: a ready set-up for one kind of project (``recipes/<name>/recipe.toml`` + its label config).

A recipe is plain data. Reading it checks every key, type and value, and a mistake is one line that
names the file, the key and what is allowed. Its active-learning settings reach the worker as the
project's own settings (``ml_backend.config.project_params``) through the ML backend connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import tomllib

from ml_backend.config import CHOICE_PARAMS, DEFAULT_ENCODER, PROJECT_PARAMS, project_params
from ml_backend.errors import BackendConfigError
from ml_backend.labelstudio.schema import LabelConfigError, TaskSchema, parse_label_config
from textal.errors import DataError

RECIPE_FILE = "recipe.toml"
FROM_THE_DATA = "from the data"
RECIPES_DIR = Path(__file__).resolve().parents[2] / "recipes"  # the recipes shipped beside the package

# section -> key -> (type, required)
_KEYS: dict[str | None, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    None: {"title": (str, True), "description": (str, False), "label_config": (str, True)},
    "data": {"text_column": (str, True), "label_column": (str, False), "labels": ((list, str), True)},
    "model": {"encoder": (str, False)},
    "active_learning": {
        "strategy": (str, False),
        **{k: (str, False) for k in CHOICE_PARAMS},
        **{k: (v if v is int else (int, float), False) for k, v in PROJECT_PARAMS.items() if v is not str},
    },
}


class RecipeError(DataError):
    """A recipe that cannot be used: one line naming the file, the key and what is allowed."""


@dataclass(frozen=True)
class Recipe:
    """What ``textal init`` sets up: the project's name, interface, data columns and active-learning settings."""

    path: Path  # the recipe.toml
    name: str  # the recipe folder's name
    title: str
    description: str
    label_config: str  # XML; Choices filled in from the data when ``labels`` is None
    text_column: str
    label_column: str | None
    labels: tuple[str, ...] | None  # None: from the data
    encoder: str = DEFAULT_ENCODER
    strategy: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def extra_params(self) -> dict[str, Any]:
        """The project settings sent to the backend with the connection (Label Studio's ``extra_params``)."""
        out: dict[str, Any] = dict(self.params)
        if self.strategy:
            out["strategy"] = self.strategy
        return out

    def config_for(self, labels: tuple[str, ...]) -> tuple[str, TaskSchema]:
        """The label config with ``labels`` as its choices (when they come from the data), and its schema."""
        xml = self.label_config if self.labels is not None else _with_choices(self.label_config, labels, self.path)
        try:
            schema = parse_label_config(xml)
        except LabelConfigError as exc:
            raise RecipeError(f"{self.path}: label_config: {exc}") from None
        if set(schema.labels) != set(labels):
            raise RecipeError(
                f"{self.path}: labels {list(labels)} differ from the label config's choices "
                f"{list(schema.labels)}; make them the same"
            )
        return xml, schema


def find_recipe(ref: str | Path) -> Path:
    """The recipe.toml that ``ref`` names: a recipe folder or file, or the name of a shipped recipe."""
    path = Path(ref).expanduser()
    for candidate in (path, path / RECIPE_FILE, RECIPES_DIR / str(ref), RECIPES_DIR / str(ref) / RECIPE_FILE):
        if candidate.is_file():
            return candidate
    shipped = sorted(p.parent.name for p in RECIPES_DIR.glob(f"*/{RECIPE_FILE}")) if RECIPES_DIR.is_dir() else []
    raise RecipeError(
        f"no recipe {str(ref)!r}: give a recipe folder, its {RECIPE_FILE}, or one of: "
        f"{', '.join(shipped) or '(none shipped)'}"
    )


def load_recipe(ref: str | Path) -> Recipe:
    """Read and check a recipe; raises RecipeError (one line) on any mistake."""
    path = find_recipe(ref)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: unreadable ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path}: not valid TOML ({exc})") from None
    _check_keys(path, data)
    top, section = data, {s: data.get(s, {}) for s in ("data", "model", "active_learning")}
    labels_raw = section["data"]["labels"]
    if isinstance(labels_raw, str):
        if labels_raw != FROM_THE_DATA:
            raise RecipeError(
                f'{path}: [data] labels must be a list of labels or "{FROM_THE_DATA}", got {labels_raw!r}'
            )
        labels = None
        if not section["data"].get("label_column"):
            raise RecipeError(f'{path}: [data] labels = "{FROM_THE_DATA}" needs [data] label_column')
    else:
        if not labels_raw or not all(isinstance(x, str) and x.strip() for x in labels_raw):
            raise RecipeError(f"{path}: [data] labels must be a non-empty list of non-empty strings")
        if len(set(labels_raw)) != len(labels_raw):
            raise RecipeError(f"{path}: [data] labels lists a label twice")
        labels = tuple(labels_raw)
    config_path = path.parent / top["label_config"]
    try:
        xml = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{path}: label_config {top['label_config']!r} unreadable ({type(exc).__name__})") from None
    learning = dict(section["active_learning"])
    strategy = learning.pop("strategy", None)
    if strategy is not None:
        _check_strategy(path, strategy)
    try:
        params = project_params(learning)
    except BackendConfigError as exc:
        raise RecipeError(f"{path}: [active_learning] {exc}") from None
    encoder = section["model"].get("encoder", DEFAULT_ENCODER)
    if encoder != DEFAULT_ENCODER:
        folder = (path.parent / encoder).resolve()
        if not folder.is_dir():
            raise RecipeError(
                f'{path}: [model] encoder must be "{DEFAULT_ENCODER}" or a local model folder; '
                f"{encoder!r} is not a folder"
            )
        encoder = str(folder)
        params["encoder"] = encoder
    recipe = Recipe(
        path=path,
        name=path.parent.name,
        title=top["title"],
        description=top.get("description", ""),
        label_config=xml,
        text_column=section["data"]["text_column"],
        label_column=section["data"].get("label_column"),
        labels=labels,
        encoder=encoder,
        strategy=strategy,
        params=params,
    )
    if labels is not None:
        recipe.config_for(labels)  # the config's choices and the labels agree
    return recipe


def _check_keys(path: Path, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key in _KEYS and key is not None:
            if not isinstance(value, dict):
                raise RecipeError(f"{path}: [{key}] must be a table")
            where = f"[{key}] "
            for sub, subvalue in value.items():
                _check_value(path, key, sub, subvalue, where)
        else:
            _check_value(path, None, key, value, "")
    for section, keys in _KEYS.items():
        given = data if section is None else data.get(section, {})
        for key, (_, required) in keys.items():
            if required and key not in given:
                raise RecipeError(f"{path}: {'' if section is None else f'[{section}] '}{key} is missing")


def _check_value(path: Path, section: str | None, key: str, value: Any, where: str) -> None:
    allowed = _KEYS[section]
    if key not in allowed:
        names = [f"[{s}]" for s in _KEYS if s is not None] if section is None else []
        raise RecipeError(f"{path}: unknown key {where}{key}; allowed: {', '.join([*allowed, *names])}")
    kind = allowed[key][0]
    if isinstance(value, bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wanted = " or ".join({str: "a string", list: "a list", int: "an integer", float: "a number"}[k] for k in kinds)
        raise RecipeError(f"{path}: {where}{key} must be {wanted}, got {value!r}")


def _check_strategy(path: Path, name: str) -> None:
    from textal.strategies import list_strategies, resolve_name
    from textal.strategies.registry import StrategyError

    try:
        resolve_name(name)
    except StrategyError:
        names = sorted({n.rsplit(".v", 1)[0] for n, _ in list_strategies()} | {n for n, _ in list_strategies()})
        raise RecipeError(
            f"{path}: [active_learning] strategy {name!r} is unknown; allowed: {', '.join(names)}"
        ) from None


def _with_choices(xml: str, labels: tuple[str, ...], path: Path) -> str:
    """``xml`` with one ``<Choice>`` per label added to its (empty) Choices control."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise RecipeError(f"{path}: label_config is not well-formed XML ({exc})") from None
    controls = root.findall(".//Choices")
    if len(controls) != 1:
        raise RecipeError(
            f'{path}: labels = "{FROM_THE_DATA}" needs exactly one <Choices> in label_config, found {len(controls)}'
        )
    control = controls[0]
    if control.findall("Choice"):
        raise RecipeError(
            f'{path}: labels = "{FROM_THE_DATA}", but label_config lists choices already; '
            "leave its <Choices> empty or list the labels in recipe.toml"
        )
    control.text = None
    for label in labels:
        ElementTree.SubElement(control, "Choice", value=label)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode")
