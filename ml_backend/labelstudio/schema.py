"""A Label Studio label config -> the TaskSchema textal serves: which Choices, over which Text, which labels.

Parsing goes through label-studio-sdk's ``LabelInterface`` so textal reads a config the way Label
Studio itself does (aliases, ``choice="multiple"``, nested Views). A config textal cannot serve
raises ``LabelConfigError`` naming what is missing or ambiguous; the app answers it with a 400.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Any

from textal.errors import TextalError

# A Text object's value must name one task data key: "$text". Nested or templated values are not served.
_DATA_KEY_RE = re.compile(r"^\$([A-Za-z_][\w-]*)$")
# A TextArea of this name over the Text shows the model's guess as a line (the shipped recipes have one); Label
# Studio 1.23 shows no score for a choice, so the prediction fills this line with the guess and its confidence.
GUESS_NAME = "textal_guess"
# Longest name (of the Choices, the Text, its data key) and choice value served: each is repeated in every prediction
# (and a data key in a skipped task's reason), so a long one would make a small request's answer huge.
MAX_NAME_CHARS = 200
MAX_CHOICE_CHARS = 500


class LabelConfigError(TextalError, ValueError):
    """The project's label config has no (or more than one) Choices control over a Text object."""


@dataclass(frozen=True)
class TaskSchema:
    """What textal needs from a label config to read tasks and write predictions."""

    from_name: str  # the Choices control's name
    to_name: str  # the Text object's name
    text_key: str  # key in task["data"] that holds the text
    labels: tuple[str, ...]  # choice values as Label Studio stores them (an alias when one is set)
    multi_label: bool  # choice="multiple"
    guess_name: str | None = None  # the TextArea showing the model's guess (GUESS_NAME), None: the config has none

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in the project's state file); a config without the guess line has no key for it,
        so its form (and the label fingerprint made from it) stays what it was before the line existed."""
        data = asdict(self)
        data["labels"] = list(self.labels)
        if self.guess_name is None:
            del data["guess_name"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSchema:
        return cls(
            from_name=str(data["from_name"]),
            to_name=str(data["to_name"]),
            text_key=str(data["text_key"]),
            labels=tuple(str(label) for label in data["labels"]),
            multi_label=bool(data["multi_label"]),
            guess_name=data.get("guess_name"),
        )

    def choices_result(self, labels: list[str]) -> dict[str, Any]:
        """One prediction ``result`` region choosing ``labels``."""
        return {
            "from_name": self.from_name,
            "to_name": self.to_name,
            "type": "choices",
            "value": {"choices": list(labels)},
        }

    def guess_result(self, line: str) -> dict[str, Any] | None:
        """The read-only region that writes ``line`` into the guess TextArea (None when the config has none).

        Read-only, so the annotator cannot edit or delete it; it is copied into their annotation unchanged, so
        it still says what the model guessed after they change the choice (textal reads only the Choices)."""
        if self.guess_name is None:
            return None
        return {
            "from_name": self.guess_name,
            "to_name": self.to_name,
            "type": "textarea",
            "value": {"text": [line]},
            "readonly": True,
        }


@functools.lru_cache(maxsize=64)
def parse_label_config(config: str) -> TaskSchema:
    """The TaskSchema of ``config``; raises LabelConfigError when textal cannot serve it.

    Cached: Label Studio resends the same config with every /setup and /predict.
    """
    if not isinstance(config, str) or not config.strip():
        raise LabelConfigError("the label config is empty")
    from label_studio_sdk.label_interface import LabelInterface
    from label_studio_sdk.label_interface.control_tags import ChoicesTag, TextAreaTag
    from label_studio_sdk.label_interface.object_tags import TextTag

    try:
        interface = LabelInterface(config)
    except Exception as exc:  # the SDK raises lxml, pydantic and its own errors for unreadable XML
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LabelConfigError(f"the label config is not valid Label Studio XML: {first_line}") from None

    objects = {obj.name: obj for obj in interface.objects}
    texts = {name: obj for name, obj in objects.items() if isinstance(obj, TextTag)}
    candidates: list[tuple[Any, Any]] = []
    for control in interface.controls:
        if not isinstance(control, ChoicesTag):
            continue
        targets = [texts[name] for name in control.to_name if name in texts]
        if len(targets) > 1:
            raise LabelConfigError(
                f"Choices {control.name!r} points at several Text objects ({', '.join(t.name for t in targets)}); "
                "textal needs one text per task"
            )
        if targets:
            candidates.append((control, targets[0]))

    if not candidates:
        if not texts:
            raise LabelConfigError("the label config has no <Text> object; textal classifies text")
        raise LabelConfigError(
            f"the label config has no <Choices> control over a <Text> object (Text: {', '.join(sorted(texts))})"
        )
    if len(candidates) > 1:
        names = ", ".join(control.name for control, _ in candidates)
        raise LabelConfigError(f"the label config has several <Choices> over text ({names}); textal serves exactly one")

    control, text = candidates[0]
    for what, name, limit in (
        ("Choices name", control.name, MAX_NAME_CHARS),
        ("Text name", text.name, MAX_NAME_CHARS),
        ("Text value", text.value or "", MAX_NAME_CHARS + 1),
        *(("choice", label, MAX_CHOICE_CHARS) for label in control.labels),
    ):
        if len(str(name)) > limit:
            raise LabelConfigError(
                f"a {what} of {len(str(name))} characters ({str(name)[:40]!r}...); textal serves at most {limit}"
            )
    if (text.value_type or "").lower() == "url":
        raise LabelConfigError(
            f"Text {text.name!r} loads its text from a URL (valueType=url); textal needs inline text"
        )
    match = _DATA_KEY_RE.match(text.value or "")
    if not match:
        raise LabelConfigError(
            f'Text {text.name!r} has value={text.value!r}; textal needs a single data key such as value="$text"'
        )
    labels = tuple(control.labels)
    if len(labels) < 2:
        raise LabelConfigError(f"Choices {control.name!r} has {len(labels)} choice(s); a classifier needs at least two")
    return TaskSchema(
        from_name=control.name,
        to_name=text.name,
        text_key=match.group(1),
        labels=labels,
        multi_label=control.is_multiple_choice,
        guess_name=_guess_name(interface, text.name, TextAreaTag),
    )


def _guess_name(interface: Any, text_name: str, textarea_tag: type[Any]) -> str | None:
    """GUESS_NAME when the config has a TextArea of that name over the served Text, else None (no line)."""
    for control in interface.controls:
        if isinstance(control, textarea_tag) and control.name == GUESS_NAME and text_name in control.to_name:
            return GUESS_NAME
    return None
