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
        '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>'
    )
    assert TaskSchema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('<View><Text name="t" value="$text"/></View>', "no <Choices> control over a <Text>"),
        (
            '<View><Image name="img" value="$image"/><Choices name="c" toName="img"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "no <Text> object",
        ),
        (
            '<View><Text name="t" value="$text"/><Choices name="c1" toName="t"><Choice value="a"/><Choice value="b"/></Choices>'
            '<Choices name="c2" toName="t"><Choice value="x"/><Choice value="y"/></Choices></View>',
            "several <Choices> over text (c1, c2)",
        ),
        (
            '<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="only"/></Choices></View>',
            "1 choice(s)",
        ),
        (
            '<View><Text name="t" value="$url" valueType="url"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "valueType=url",
        ),
        (
            '<View><Text name="t" value="Title: $title"/><Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>',
            "single data key",
        ),
        ('<View><Text name="t" value="$text"', "not valid Label Studio XML"),
        ("", "empty"),
    ],
    ids=["no-choices", "choices-over-image", "ambiguous", "one-choice", "url-text", "templated-value", "broken-xml", "empty"],
)
def test_configs_textal_cannot_serve_name_what_is_missing(config, message):
    with pytest.raises(LabelConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_label_config(config)
