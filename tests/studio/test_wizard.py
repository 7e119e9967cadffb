"""The create-session wizard's params: amounts with units in each token's decimals, durations, every problem named."""

from __future__ import annotations

import pytest

from agent_sessions import NATIVE
from agent_sessions.domain.tokens import TokenBook, TokenInfo

USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
AGENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture
def book():
    b = TokenBook()
    b.add(TokenInfo(USDC, "USDC", 6))
    return b


def test_a_token_by_its_symbol_takes_its_own_decimals(book):
    from agent_sessions.studio.wizard import build_params

    params = build_params({"agent": AGENT, "expires": "2026-12-31T00:00:00Z", "period": "1d", "max_idle": "6h",
                           "max_calls_per_period": "5", "budgets": [
                               {"token": "ETH", "amount": "0.5 ether", "per_call": "10 gwei"},
                               {"token": "usdc", "amount": "100 USDC", "per_period": "2.5 USDC"}],
                           "permissions": [{"target": USDC, "selector": "transfer(address,uint256)"}]},
                          book, known_tokens=[USDC])
    assert params["expiry"] == {"unix": 1_798_675_200}
    assert (params["period"], params["max_idle"], params["max_calls_per_period"]) == (86_400, 21_600, 5)
    assert params["budgets"] == [
        {"token": NATIVE, "amount": "500000000000000000", "per_call_cap": "10000000000", "period_allowance": "0"},
        {"token": USDC, "amount": "100000000", "per_call_cap": "0", "period_allowance": "2500000"}]
    assert params["permissions"] == [{"target": USDC, "selector": "0xa9059cbb"}]
    assert params["value"] == "500000000000000000"  # only the ETH budget is sent as value


def test_every_problem_is_named_at_once(book):
    from agent_sessions.studio.wizard import WizardError, build_params

    with pytest.raises(WizardError) as caught:
        build_params({"agent": "0x1234", "expires": "soon", "period": "a while",
                      "budgets": [{"token": "DAI", "amount": "1 DAI"}, {"token": "ETH", "amount": "1 USDC"}]},
                     book, known_tokens=[USDC])
    assert set(caught.value.problems) == {"agent", "expires", "period", "budgets[0].token", "budgets[1].amount"}
    assert "not ETH, an address, nor the symbol" in caught.value.problems["budgets[0].token"]


def test_a_per_period_allowance_needs_a_period(book):
    from agent_sessions.studio.wizard import WizardError, build_params

    with pytest.raises(WizardError) as caught:
        build_params({"agent": AGENT, "expires": "1d", "budgets": [{"token": "ETH", "amount": "1 ether",
                                                                    "per_period": "0.1 ether"}]}, book)
    assert "needs a period" in str(caught.value)
