"""Label config -> TaskSchema through label-studio-sdk's parser, and clear errors for configs textal cannot serve."""

from __future__ import annotations

import pytest

from ml_backend.labelstudio.schema import (
    LabelConfigError,
    TaskSchema,
    parse_label_config,
)


def test_single_choice_config_gives_names_key_and_labels_in_order():
    schema = parse_label_config(
        '<View><Header value="Is it spam?"/><Text name="sms" value="$message"/>'
        '<Choices name="verdict" toName="sms"><Choice value="spam"/><Choice value="ham"/></Choices></View>'
    )
    assert schema == TaskSchema(
        from_name="verdict", to_name="sms", text_key="message", labels=("spam", "ham"), multi_label=False
    )


def test_multiple_choice_is_multi_label():
    schema = parse_label_config(
        '<View><Text name="t" value="$text"/><Choices name="topics" toName="t" choice="multiple">'
        '<Choice value="billing"/><Choice value="urgent"/><Choice value="other"/></Choices></View>'
    )
    assert schema.multi_label and schema.labels == ("billing", "urgent", "other")


def test_an_alias_is_the_label_label_studio_stores():
    schema = parse_label_config(
        '<View><Text name="t" value="$text"/><Choices name="c" toName="t">'
        '<Choice value="Not spam" alias="ham"/><Choice value="Spam" alias="spam"/></Choices></View>'
    )
    assert schema.labels == ("ham", "spam")


def test_choices_nested_in_views_next_to_other_controls_are_found():
    schema = parse_label_config(
        '<View><View><Text name="t" value="$body"/></View><View><Choices name="c" toName="t">'
        '<Choice value="a"/><Choice value="b"/></Choices><TextArea name="comment" toName="t"/></View></View>'
    )
    assert (schema.from_name, schema.to_name, schema.text_key) == ("c", "t", "body")


def test_schema_survives_a_round_trip_through_its_dict():
    schema = parse_label_config(
        '<View><Text name="t" value="$text"/><Choices name="c" '
        'toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>'
    )
    assert TaskSchema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('<View><Text name="t" value="$text"/></View>', "no <Choices> control over a <Text>"),
        (
            '<View><Image name="img" value="$image"/><Choices name="c" '
            'toName="img"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "no <Text> object",
        ),
        (
            '<View><Text name="t" value="$text"/><Choices name="c1" '
            'toName="t"><Choice value="a"/><Choice value="b"/></Choices>'
            '<Choices name="c2" toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>',
            "several <Choices> over text (c1, c2)",
        ),
        (
            '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="only"/></Choices></View>',
            "1 choice(s)",
        ),
        (
            '<View><Text name="t" value="$url" valueType="url"/><Choices name="c" '
            'toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "valueType=url",
        ),
        (
            '<View><Text name="t" value="Title: $title"/><Choices name="c" '
            'toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "single data key",
        ),
        ('<View><Text name="t" value="$text"', "not valid Label Studio XML"),
        ("", "empty"),
    ],
    ids=[
        "no-choices",
        "choices-over-image",
        "ambiguous",
        "one-choice",
        "url-text",
        "templated-value",
        "broken-xml",
        "empty",
    ],
)
def test_configs_textal_cannot_serve_name_what_is_missing(config, message):
    with pytest.raises(LabelConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_label_config(config)


GUESS_LINE = (
    '<View className="textal-guess"><TextArea name="textal_guess" toName="text" editable="false" '
    'maxSubmissions="1"/></View>'
)
CHOICES = '<Choices name="label" toName="text"><Choice value="ham"/><Choice value="spam"/></Choices>'


def test_a_textarea_named_textal_guess_over_the_text_is_where_the_guess_line_goes():
    schema = parse_label_config(f'<View><Text name="text" value="$text"/>{GUESS_LINE}{CHOICES}</View>')
    assert schema.guess_name == "textal_guess"
    assert schema.guess_result("Model's guess: spam") == {
        "from_name": "textal_guess",
        "to_name": "text",
        "type": "textarea",
        "value": {"text": ["Model's guess: spam"]},
        "readonly": True,
    }
    assert TaskSchema.from_dict(schema.to_dict()) == schema


def test_a_config_without_the_guess_line_keeps_the_schema_dict_it_had_before_the_line_existed():
    schema = parse_label_config(f'<View><Text name="text" value="$text"/>{CHOICES}</View>')
    assert schema.guess_name is None and schema.guess_result("x") is None
    old = {"from_name": "label", "to_name": "text", "text_key": "text", "labels": ["ham", "spam"], "multi_label": False}
    assert schema.to_dict() == old  # same label fingerprint as before: no retrain for an unchanged project
    assert TaskSchema.from_dict(old) == schema  # a state file written before the line existed


@pytest.mark.parametrize(
    "textarea",
    [
        '<TextArea name="notes" toName="text"/>',  # another name: the annotators' own notes, never written by textal
        '<Text name="other" value="$other"/><TextArea name="textal_guess" toName="other"/>',  # over another object
    ],
)
def test_other_textareas_are_not_the_guess_line(textarea):
    assert parse_label_config(f'<View><Text name="text" value="$text"/>{textarea}{CHOICES}</View>').guess_name is None


@pytest.mark.parametrize("recipe", ["spam", "support_tickets"])
def test_the_shipped_recipes_have_the_guess_line(recipe):
    from ml_backend.recipes.recipe import load_recipe

    loaded = load_recipe(recipe)
    _, schema = loaded.config_for(loaded.labels or ("card_arrival", "change_pin"))
    assert schema.guess_name == "textal_guess"
