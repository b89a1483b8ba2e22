"""Template YAML: validation errors name the line and the field."""

from __future__ import annotations

import pytest

from taskyard.model.errors import InvalidInput
from taskyard.model.prices import price_of
from taskyard.model.template import TemplateSpec
from taskyard.services.parameters import resolve_parameters
from taskyard.services.templates import parse_template

GOOD = """
name: shop
agent:
  kind: command
  command: make test
parameters:
  - name: level
    type: number
    min: 1
    max: 3
  - name: flavour
    form: select
    options: [a, b]
    default: a
"""


def test_a_good_template_parses() -> None:
    spec = parse_template(GOOD)
    assert spec.agent.kind == "command" and spec.network.policy == "allowlist"
    assert spec.sandbox == "bubblewrap" and [p.name for p in spec.parameters] == [
        "level",
        "flavour",
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "name: x\nagent:\n  kind: command\n  commnd: ls\n",
            "line 4, field 'agent.commnd': unknown field",
        ),
        ("name: x\nagent:\n  kind: robot\n", "line 3, field 'agent.kind'"),
        ("name: x\nlimits:\n  memory_mb: 1\n", "line 3, field 'limits.memory_mb'"),
        ("name: x\nparameters:\n  - name: p\n    form: select\n", "line 3, field 'parameters.0'"),
        ("name: x\nagent: [\n", "not valid YAML at line"),
        ("- just a list\n", "must be a YAML mapping"),
        ("name: Bad Name\n", "field 'name'"),
        ("description: no name\n", "field 'name': Field required"),
        ("name: x\nprices:\n  m: {input: -1, output: 1}\n", "field 'prices.m.input'"),
        ("name: x\nprices:\n  m: {input: 1}\n", "field 'prices.m.output': Field required"),
    ],
)
def test_errors_name_line_and_field(source: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_template(source)
    assert message in error.value.message, error.value.message


def test_parameters_are_checked_against_the_template() -> None:
    spec = parse_template(GOOD)
    values = resolve_parameters(spec, {"level": 2}, default_prompt="do it")
    assert values == {"level": 2, "flavour": "a", "ai_prompt": "do it"}
    for given, fragment in (
        ({"level": 9}, "at most 3"),
        ({"level": "2"}, "type number"),
        ({"level": True}, "must be a number"),
        ({"flavour": "c"}, "one of"),
        ({"nope": 1}, "Unknown parameter"),
        ({"ai_prompt": 3}, "must be a string"),
    ):
        with pytest.raises(InvalidInput, match=fragment):
            resolve_parameters(spec, given, default_prompt="")


def test_every_error_is_reported_at_once() -> None:
    source = "name: Bad\nagent:\n  kind: robot\nlimits:\n  memory_mb: 1\nextra: 1\n"
    with pytest.raises(InvalidInput) as error:
        parse_template(source)
    message = error.value.message
    assert message.startswith("Invalid template: 4 problems:\n- line 1, field 'name'")
    for fragment in ("line 3, field 'agent.kind'", "line 5, field 'limits.memory_mb'", "'extra'"):
        assert fragment in message
    assert [e["line"] for e in error.value.details["errors"]] == [1, 3, 5, 6]


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("type: number\n    default: lots\n    min: 5\n    max: 1", "min 5 is above max 1"),
        ("type: number\n    default: lots", "default 'lots': must be of type number"),
        ("type: number\n    default: 0\n    min: 1", "default 0: must be at least 1"),
        ("type: number\n    default: 9\n    max: 3", "default 9: must be at most 3"),
        ("type: number\n    default: true", "default True: must be a number"),
        ("form: select\n    options: [a, b]\n    default: c", "default 'c': must be one of"),
        ("regex: '[a-z]+'\n    default: ABC", "default 'ABC': must match"),
        ("type: bool\n    default: 'yes'", "must be of type bool"),
        ("type: number\n    form: select\n    options: [1, x]", "options ['x'] are not of type"),
        ("min: 1", "min and max apply to type 'number' only"),
    ],
)
def test_parameter_definitions_are_checked_against_themselves(parameter: str, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_template(f"name: x\nparameters:\n  - name: p\n    {parameter}\n")
    assert message in error.value.message, error.value.message
    assert "line 3, field 'parameters.0': parameter 'p': " in error.value.message


def test_a_stored_template_stays_readable_after_the_checks_got_stricter() -> None:
    """Versions pushed before defaults were checked are read back (tasks pin them)."""
    stored = {"name": "old", "parameters": [{"name": "n", "type": "number", "default": "lots"}]}
    assert TemplateSpec.model_validate(stored).parameters[0].default == "lots"
    with pytest.raises(InvalidInput, match="default 'lots'"):
        parse_template("name: old\nparameters:\n  - name: n\n    type: number\n    default: lots\n")


def test_prices_override_the_table_for_their_models() -> None:
    spec = parse_template("name: x\nprices:\n  gpt-4.1: {input: 1, output: 2}\n")
    price = price_of("openai", "gpt-4.1-2025-04-14", spec.prices)
    assert price is not None and (price.input, price.output) == (1, 2)
    assert price_of("openai", "gpt-4.1-mini", spec.prices) != price, "the longest key wins"
