"""Amount and duration parsing: exact integers out, clear ValueErrors for everything else."""

from datetime import timedelta
from decimal import Decimal

import pytest

from agent_sessions import format_amount, parse_amount, parse_duration


@pytest.mark.parametrize(
    "text, decimals, expected",
    [
        ("0.5 ether", 18, 5 * 10**17),
        ("1 ETH", 18, 10**18),
        ("10 gwei", 18, 10 * 10**9),
        ("1000 wei", 18, 1000),
        ("100 USDC", 6, 100 * 10**6),
        ("1.25", 18, 125 * 10**16),
        ("  2.5   TUSD ", 18, 25 * 10**17),
        ("1e3 wei", 18, 1000),
        (".5 ether", 18, 5 * 10**17),
        (7, 18, 7),
        (Decimal("0.000001"), 6, 1),
    ],
    ids=lambda v: repr(v),
)
def test_parse_amount_reads_units_and_token_decimals(text, decimals, expected):
    assert parse_amount(text, decimals) == expected


@pytest.mark.parametrize(
    "value, message",
    [
        ("-1 ether", "negative"),
        (-5, "negative"),
        ("1.5 wei", "more than 0 decimals"),
        ("0.0000001 USDC", "more than 6 decimals"),
        ("abc", "cannot read 'abc' as an amount"),
        ("1 2 ether", "cannot read"),
        ("", "cannot read"),
        (0.1, "float"),
        (True, "bool"),
        (None, "not NoneType"),
        ("nan", "cannot read"),
    ],
    ids=lambda v: repr(v),
)
def test_parse_amount_refuses_bad_input_with_a_clear_message(value, message):
    decimals = 6 if isinstance(value, str) and "USDC" in value else 18
    with pytest.raises(ValueError, match=message):
        parse_amount(value, decimals)


def test_parse_amount_refuses_invalid_decimals():
    with pytest.raises(ValueError, match="decimals must be an int between 0 and 77"):
        parse_amount("1", decimals=-1)


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("1d", 86_400),
        ("72h", 259_200),
        ("30m", 1_800),
        ("45s", 45),
        ("1w", 604_800),
        ("1h30m", 5_400),
        ("1.5h", 5_400),
        ("90", 90),
        (3600, 3600),
        (timedelta(hours=2), 7_200),
    ],
    ids=lambda v: repr(v),
)
def test_parse_duration_reads_units(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value, message",
    [
        ("1y", "cannot read '1y' as a duration"),
        ("d", "cannot read"),
        ("1d 2x", "cannot read"),
        ("", "cannot read"),
        (-1, "negative"),
        (timedelta(seconds=-5), "negative"),
        (timedelta(milliseconds=1500), "whole number of seconds"),
        ("0.5s", "whole number of seconds"),
        (1.5, "not float"),
        (False, "bool"),
    ],
    ids=lambda v: repr(v),
)
def test_parse_duration_refuses_bad_input_with_a_clear_message(value, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


def test_format_amount_shows_exact_decimal_text():
    assert format_amount(15 * 10**17) == "1.5 ETH"
    assert format_amount(0) == "0 ETH"
    assert format_amount(1, 18) == "0.000000000000000001 ETH"
    assert format_amount(100 * 10**6, 6, "USDC") == "100 USDC"
