"""The Frequency cell (seed 002 "Product Feed Configuration", DECISIONS §3.8): the seed's exact examples, plain
JSON, writing back in the seed's form, and malformed cells each refused with a clear message."""

from __future__ import annotations

import pytest

from feeds.products.frequency import Frequency, FrequencyError, frequency_format, frequency_parse, frequency_validate

# Verbatim from seed 002 (line breaks as the seed shows them).
SEED_DEFAULT = """[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'};
{'Name':'Every 1 month';'option_id':133;'every':0;'every_period':0;'is_default':'FALSE'};
{'Name':'Every 2 months';'option_id':134;'every':0;'every_period':0;'is_default':'FALSE'}]"""
SEED_CONFIGURED = """[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':' TRUE'};
{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'};
{'Name':'Every 2 months';'option_id':134;'every':2;'every_period':3;'is_default':'FALSE'}]"""


def test_the_seeds_prefilled_example_parses_and_is_refused_for_an_eligible_product():
    options = frequency_parse(SEED_DEFAULT)
    assert [(o.name, o.option_id, o.every, o.every_period, o.is_default) for o in options] == [
        ("One-time purchase", 132, 0, 0, True), ("Every 1 month", 133, 0, 0, False),
        ("Every 2 months", 134, 0, 0, False)]
    # Seed: "every and every_period will default to 0, which is an invalid configuration".
    with pytest.raises(FrequencyError, match="3 options are one-time purchases"):
        frequency_validate(options)


def test_the_seeds_configured_example_parses_padded_true_and_validates():
    options = frequency_parse(SEED_CONFIGURED)
    assert options == [Frequency("One-time purchase", 132, 0, 0, True), Frequency("Every 1 month", 133, 1, 3, False),
                       Frequency("Every 2 months", 134, 2, 3, False)]
    assert frequency_validate(options) == []
    assert options[0].is_one_time and options[1].words == "every 1 month" and options[2].words == "every 2 months"


def test_plain_json_is_accepted():
    cell = ('[{"Name": "One-time purchase", "option_id": 132, "every": 0, "every_period": 0, "is_default": true},'
            ' {"Name": "Every 2 weeks", "option_id": "133", "every": "2", "every_period": 2, "is_default": "false"}]')
    options = frequency_parse(cell)
    assert options == [Frequency("One-time purchase", 132, 0, 0, True), Frequency("Every 2 weeks", 133, 2, 2, False)]


def test_written_back_in_the_seeds_form_and_round_trips():
    options = frequency_parse(SEED_CONFIGURED)
    text = frequency_format(options)
    assert text == ("[{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'};"
                    "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'};"
                    "{'Name':'Every 2 months';'option_id':134;'every':2;'every_period':3;'is_default':'FALSE'}]")
    assert frequency_parse(text) == options


def test_names_with_quotes_and_separators_survive_the_round_trip():
    options = [Frequency("Mom's pick; every 30 days {best}", 7, 30, 1, True), Frequency("Once", 8, 0, 0, False)]
    assert frequency_parse(frequency_format(options)) == options


def test_keys_are_matched_without_case_and_values_trimmed():
    cell = "[{'name':' Monthly ';'OPTION_ID':' 9';'Every':1;'every_period':'3 ';'is_default':'true'};" \
           "{'Name':'Once';'option_id':10;'every':0;'every_period':0;'is_default':'False'}]"
    assert frequency_parse(cell) == [Frequency("Monthly", 9, 1, 3, True), Frequency("Once", 10, 0, 0, False)]


def test_empty_cell_is_no_options():
    assert frequency_parse("") == [] and frequency_parse("  ") == []


def test_a_pair_outside_the_seeds_table_is_a_warning_not_an_error():
    options = frequency_parse(
        "[{'Name':'Every 45 days';'option_id':1;'every':45;'every_period':1;'is_default':'TRUE'}]")
    warnings = frequency_validate(options)
    assert len(warnings) == 1 and "every 45 days is not in the seed's Frequency Options Table" in warnings[0]


def _cell(*objects: str) -> str:
    return "[" + ";".join(objects) + "]"


ONE_TIME = "{'Name':'One-time purchase';'option_id':132;'every':0;'every_period':0;'is_default':'TRUE'}"
MONTHLY = "{'Name':'Every 1 month';'option_id':133;'every':1;'every_period':3;'is_default':'FALSE'}"

# (cell, words the error must contain): syntax errors (parse) ...
MALFORMED_SYNTAX = [
    ("{'Name':'x'}", "'[' to open the list"),
    ("[" + ONE_TIME, "';' between options or ']'"),
    (ONE_TIME + "]", "'[' to open the list"),
    ("[{'Name':'x';'option_id':132", "';' between keys or '}'"),
    ("[{'Name':'x' 'option_id':132}]", "';' between keys or '}'"),
    ("[{'Name' 'x'}]", "':' after 'Name'"),
    ("[{Name:'x'}]", "quoted key"),
    ("[{'Name':'One-time purchase}]", "never closed"),
    ("[{'Name':'x';'option_id':abc;'every':0;'every_period':0;'is_default':'TRUE'}]", "'abc' is not a number"),
    (_cell(ONE_TIME) + " trailing", "after the closing ']'"),
    ("[{'Name':'x';'option_id':1;'every':0;'every_period':0}]", "missing 'is_default'"),
    ("[{'Name':'x';'every':0;'every_period':0;'is_default':'TRUE'}]", "missing 'option_id'"),
    ("[{'Name':'x';'option_id':1;'every':0;'every_period':0;'is_default':'TRUE';'price':3}]", "unknown key 'price'"),
    ("[{'Name':'x';'option_id':1;'option_id':2;'every':0;'every_period':0;'is_default':'TRUE'}]", "appears twice"),
    ("[{'Name':'x';'option_id':1;'every':'one';'every_period':3;'is_default':'TRUE'}]", "'every' must be a whole"),
    ("[{'Name':'x';'option_id':1;'every':1.5;'every_period':3;'is_default':'TRUE'}]", "'1.5' is not a number"),
    ("[{'Name':'x';'option_id':1;'every':1;'every_period':3;'is_default':'YES'}]", "must be TRUE or FALSE"),
    ("[{'Name':'';'option_id':1;'every':1;'every_period':3;'is_default':'TRUE'}]", "'Name' must be a non-empty"),
    ("[{'Name':'x';'option_id':0;'every':1;'every_period':3;'is_default':'TRUE'}]", "must be a positive id"),
    ("[{'Name':'x';'option_id':TRUE;'every':1;'every_period':3;'is_default':'TRUE'}]", "not TRUE/FALSE"),
    ("['Every month']", "'{' to open an option"),
    ('["Every month"]', "is not an object"),
    ('{"Name": "x"}', "list of options"),
]
# ... and rule errors (validate) for a subscription-eligible product.
MALFORMED_RULES = [
    ("[]", "No frequency options"),
    (_cell(ONE_TIME), "every option is a one-time purchase"),
    (_cell(ONE_TIME, MONTHLY.replace("'every_period':3", "'every_period':4")), "every_period 4 is not valid"),
    (_cell(ONE_TIME, MONTHLY.replace("'every':1", "'every':0")), "every 0 / every_period 3 is not valid"),
    (_cell(ONE_TIME, MONTHLY.replace("'every_period':3", "'every_period':0")), "every 1 / every_period 0 is not valid"),
    (_cell(ONE_TIME, MONTHLY.replace("'every':1", "'every':-1")), "cannot be negative"),
    (_cell(ONE_TIME, MONTHLY.replace("'option_id':133", "'option_id':132")), "listed twice"),
    (_cell(ONE_TIME, MONTHLY.replace("'FALSE'", "'TRUE'")), "Exactly one option must have is_default TRUE; 2 do"),
    (_cell(ONE_TIME.replace("'TRUE'", "'FALSE'"), MONTHLY), "Exactly one option must have is_default TRUE; none"),
]


@pytest.mark.parametrize(("cell", "expected"), MALFORMED_SYNTAX)
def test_malformed_cells_are_refused_with_a_clear_message(cell, expected):
    with pytest.raises(FrequencyError) as info:
        frequency_parse(cell)
    assert expected in str(info.value)


@pytest.mark.parametrize(("cell", "expected"), MALFORMED_RULES)
def test_cells_breaking_the_frequency_rules_are_refused(cell, expected):
    with pytest.raises(FrequencyError) as info:
        frequency_validate(frequency_parse(cell))
    assert expected in str(info.value)


def test_syntax_errors_say_where():
    with pytest.raises(FrequencyError, match=r"at character 14 \(near \"'option_id':1"):
        frequency_parse("[{'Name':'x' 'option_id':1}]")
