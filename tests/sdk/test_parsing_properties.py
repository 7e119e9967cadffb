"""One reading of amounts, durations and expiries: the same text means the same thing (or is refused) in the SDK
(`SessionParams`, `parse_amount`), the YAML fleet spec and the command line. Hypothesis writes the text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_sessions import NATIVE, SessionParams, UnixTime, parse_amount, parse_spec
from agent_sessions.base.parsing import expiry_seconds
from agent_sessions.cli._app import _seconds
from agent_sessions.domain.admin import parse_expiry as admin_parse_expiry
from agent_sessions.domain.tokens import TokenInfo
from agent_sessions.fleet.spec import SpecError

USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
AGENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NOW = 1_800_000_000  # the chain's clock for relative expiries

SPEC = """\
chains: {{alpha: {{anvil: {{chain_id: 31337, port: 8545}}}}}}
keys: {{owner: anvil:0, bot: anvil:1}}
tokens: {{USDC: {{decimals: 6, chains: {{alpha: '{usdc}'}}}}}}
managers: {{main: {{owner: owner}}}}
sessions:
  - label: root
    chain: alpha
    manager: main
    agent: bot
    expires: {expires}
    period: {period}
    budgets: {{{token}: {amount}}}
"""

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn):
    """The value, or the marker that it was refused (the reasons may be worded differently, the verdict may not)."""
    try:
        return fn()
    except (ValueError, SpecError, click.BadParameter):
        return "refused"


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def spec_of(*, amount: str = "'1 ether'", token: str = "ETH", expires: str = "72h", period: str = "'1d'"):
    return parse_spec(SPEC.format(usdc=USDC, amount=amount, token=token, expires=expires, period=period))


# --- amounts ------------------------------------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)
    .map(lambda d: format(d, "f")),
    st.from_regex(r"\A[0-9]{1,4}\.[0-9]{1,22}\Z"),
    st.sampled_from(["-1", "1e3", "1.5e-3", ".5", "5.", "0", "00.10"]),
)
eth_units = st.sampled_from(["", " ether", "ether", " ETH", " eth", " gwei", "gwei", " wei", " USDC", " finney"])
usdc_units = st.sampled_from(["", " USDC", "USDC", " usdc", " ether", " DAI"])


@FAST
@given(number=numbers, unit=eth_units)
def test_an_eth_amount_reads_the_same_in_the_sdk_the_spec_and_the_command_line(number, unit):
    text = number + unit
    sdk = outcome(lambda: parse_amount(text, 18, symbol="ETH"))
    params = outcome(lambda: SessionParams(agent=AGENT, expiry="1d", budgets={NATIVE: text}).budgets[0].amount)
    cli = outcome(lambda: TokenInfo(NATIVE, "ETH", 18).parse(text))
    spec = outcome(lambda: next(iter(spec_of(amount=quoted(text)).budgets_of(spec_of(amount=quoted(text))
                                                                           .sessions_flat()[0]).values())).total)
    if isinstance(sdk, int) and sdk >= 2**128:
        return  # past uint128 the spec refuses what the SDK's uint256 fields take: a limit of the contract's fields
    assert sdk == params == cli == spec, (text, sdk, params, cli, spec)


@FAST
@given(number=numbers, unit=usdc_units)
def test_a_token_amount_reads_the_same_in_the_sdk_the_spec_and_the_command_line(number, unit):
    text = number + unit
    sdk = outcome(lambda: parse_amount(text, 6, symbol="USDC"))
    cli = outcome(lambda: TokenInfo(USDC, "USDC", 6).parse(text))
    spec = outcome(lambda: spec_of(token="USDC", amount=quoted(text)).budgets_of(
        spec_of(token="USDC", amount=quoted(text)).sessions_flat()[0])["USDC"].total)
    if isinstance(sdk, int) and sdk >= 2**128:
        return
    assert sdk == cli == spec, (text, sdk, cli, spec)


def test_a_bare_number_is_in_the_tokens_own_units_everywhere():
    assert parse_amount("100", 18, symbol="ETH") == 100 * 10**18
    assert spec_of(amount="100").budgets_of(spec_of(amount="100").sessions_flat()[0])["ETH"].total == 100 * 10**18
    assert spec_of(amount="0.5").budgets_of(spec_of(amount="0.5").sessions_flat()[0])["ETH"].total == 5 * 10**17
    assert TokenInfo(NATIVE, "ETH", 18).parse("100") == 100 * 10**18


# --- durations ----------------------------------------------------------------------------------------------------

durations = st.one_of(
    st.integers(min_value=0, max_value=10**7).map(str),
    st.lists(st.tuples(st.integers(0, 400), st.sampled_from("wdhms")), min_size=1, max_size=3)
    .map(lambda parts: "".join(f"{n}{u}" for n, u in parts)),
    st.sampled_from(["1.5h", "0.5s", "1 d", "72 h", "-1h", "1y", "1d 2x", "1H30M"]),
)


@FAST
@given(text=durations)
def test_a_duration_reads_the_same_in_the_sdk_the_spec_and_the_command_line(text):
    sdk = outcome(lambda: SessionParams(agent=AGENT, expiry="1d", period=text).period)
    spec = outcome(lambda: spec_of(period=quoted(text)).sessions[0].period)
    cli = outcome(lambda: int(_seconds(text, "--refresh")))
    if isinstance(sdk, int) and sdk >= 2**32:
        return  # the period field is a uint32 in the SDK; the spec says so too, in other words
    assert sdk == spec, (text, sdk, spec)
    if sdk != "refused" and not text.replace(".", "", 1).isdigit():
        assert cli == sdk, (text, cli, sdk)


# --- expiries -----------------------------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1))
expiries = st.one_of(
    durations,
    st.integers(min_value=1, max_value=3 * 10**9).map(str),
    moments.map(lambda m: m.replace(microsecond=0).isoformat() + "Z"),
    moments.map(lambda m: m.replace(microsecond=0).isoformat() + "+02:00"),
    moments.map(lambda m: m.replace(microsecond=0).isoformat()),  # no zone: refused everywhere
    moments.map(lambda m: m.date().isoformat()),  # a date alone: refused everywhere
    st.integers(min_value=0, max_value=2**39).map(lambda n: f"unix:{n}"),
)


def absolute(value) -> int:
    return NOW + int(value.total_seconds()) if isinstance(value, timedelta) else int(value.timestamp())


@FAST
@given(text=expiries)
def test_an_expiry_means_the_same_in_the_sdk_the_spec_and_the_command_line(text):
    sdk = outcome(lambda: SessionParams(agent=AGENT, expiry=text).expiry_timestamp(NOW))
    cli = outcome(lambda: expiry_seconds(text, NOW))
    admin = outcome(lambda: absolute(admin_parse_expiry(text)))
    spec = outcome(lambda: absolute(spec_of(expires=quoted(text)).sessions_flat()[0].expires))
    assert sdk == cli == admin == spec, (text, sdk, cli, admin, spec)


@pytest.mark.parametrize("value, expected", [
    (3600, NOW + 3600),                                           # an int counts seconds from now, like "3600"
    ("3600", NOW + 3600),
    (timedelta(hours=1), NOW + 3600),
    (UnixTime(1_900_000_000), 1_900_000_000),                     # a point in time says so
    ("unix:1900000000", 1_900_000_000),
    (datetime(2030, 1, 1, tzinfo=timezone.utc), 1_893_456_000),
    ("2030-01-01T00:00:00Z", 1_893_456_000),
    ("2030-01-01T02:00:00+02:00", 1_893_456_000),
], ids=["int", "digits", "timedelta", "UnixTime", "unix-text", "datetime", "iso-z", "iso-offset"])
def test_expiry_forms_in_the_sdk(value, expected):
    assert SessionParams(agent=AGENT, expiry=value).expiry_timestamp(NOW) == expected


@pytest.mark.parametrize("value, message", [
    (1_900_000_000, "looks like a unix time"),
    ("1900000000", "looks like a unix time"),
    ("2030-01-01", "has no timezone"),
    (datetime(2030, 1, 1), "has no timezone"),
    (0, "must be positive"),
], ids=["int-unix", "text-unix", "date", "naive", "zero"])
def test_ambiguous_expiries_are_refused_with_the_reason(value, message):
    with pytest.raises(ValueError, match=message):
        SessionParams(agent=AGENT, expiry=value)
