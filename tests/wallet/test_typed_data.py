"""The typed data the SDK signs is the manager's, byte for byte: its encodeType strings as the contract's ABI fixes
them, hashed here by hand (eth-abi + keccak, independently of eth-account's encoder); signatures from eth-account
and from `cast wallet sign --data` are the same; signed objects survive JSON; bad input names its field."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import eth_abi
import pytest
from eth_account import Account
from eth_utils import keccak

from agent_sessions import NATIVE, SessionParams
from agent_sessions.base.parsing import UnixTime
from agent_sessions.wallet import (
    SignedExecute,
    SignedGrant,
    encode_type,
    load_signed,
    safe_signature,
    sign_execute,
    sign_execute_batch,
    sign_grant,
    sign_spawn,
    typed_digest,
)
from agent_sessions.wallet.typed_data import safe_message

ROOT = Path(__file__).resolve().parents[2]
CAST = ROOT / "node_modules" / ".bin" / "cast"
MANAGER = "0x1111111111111111111111111111111111111111"
CHAIN = (31337, MANAGER)
OWNER = Account.from_key("0x" + "ab" * 32)
AGENT = Account.from_key("0x" + "cd" * 32)
TARGET = "0x2222222222222222222222222222222222222222"
GUARD = "0x5555555555555555555555555555555555555555"

#: The encodeType strings exactly as the contract's documentation gives them (referenced structs appended in
#: alphabetical order).
SESSION_PARAMS = ("SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,"
                  "bool draft,bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,"
                  "address[] guards)")
BUDGET = "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)"
PERMISSION = "Permission(address target,bytes4 selector)"
CALL = "Call(address target,uint256 value,bytes data)"
EXPECTED_TYPES = {
    "Grant": "Grant(address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline)" + BUDGET + PERMISSION
             + SESSION_PARAMS,
    "Spawn": "Spawn(uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline)" + BUDGET + PERMISSION
             + SESSION_PARAMS,
    "Execute": "Execute(uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,"
               "uint256 relayFee)",
    "ExecuteBatch": "ExecuteBatch(uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee)"
                    + CALL,
}


@pytest.mark.parametrize("primary", sorted(EXPECTED_TYPES))
def test_encode_type_is_the_contracts(primary):
    assert encode_type(primary) == EXPECTED_TYPES[primary]


def _params(**fields):
    fields.setdefault("expiry", UnixTime(1_900_000_000))
    fields.setdefault("label", "payroll")
    return SessionParams(agent=AGENT.address, budgets={NATIVE: {"amount": "0.5 ether", "per_call_cap": "0.1 ether",
                                                                "period_allowance": "0.2 ether"}},
                         permissions=[(TARGET, "transfer(address,uint256)")], guards=[GUARD], period="1d",
                         max_idle="2h", max_calls_per_period=9, **fields)


# --- the digest by hand: EIP-712 hashStruct with eth-abi and keccak --------------------------------------------------


def _h(text: str) -> bytes:
    return keccak(text=text)


def _array(hashes: list[bytes]) -> bytes:
    return keccak(b"".join(hashes))


def _domain_separator(chain_id: int, manager: str) -> bytes:
    return keccak(eth_abi.encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [_h("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
         _h("Agent Sessions"), _h("1"), chain_id, manager]))


def _session_hash(s) -> bytes:
    agent, expiry, max_idle, period, max_calls, draft, any_target, label, budgets, permissions, guards = s
    budget_hashes = [keccak(eth_abi.encode(["bytes32", "address", "uint128", "uint128", "uint128"], [_h(BUDGET), *b]))
                     for b in budgets]
    permission_hashes = [keccak(eth_abi.encode(["bytes32", "address", "bytes4"], [_h(PERMISSION), *p]))
                         for p in permissions]
    guard_hash = keccak(b"".join(eth_abi.encode(["address"], [g]) for g in guards))
    return keccak(eth_abi.encode(
        ["bytes32", "address", "uint40", "uint32", "uint32", "uint16", "bool", "bool", "bytes32", "bytes32", "bytes32",
         "bytes32"],
        [_h(SESSION_PARAMS + BUDGET + PERMISSION), agent, expiry, max_idle, period, max_calls, draft, any_target,
         label, _array(budget_hashes), _array(permission_hashes), guard_hash]))


def _digest(struct_hash: bytes, chain_id: int = 31337, manager: str = MANAGER) -> bytes:
    return keccak(b"\x19\x01" + _domain_separator(chain_id, manager) + struct_hash)


def test_grant_digest_matches_a_hand_computed_eip712_hash():
    signed = sign_grant(CHAIN, [_params(), _params(draft=True, any_target=True)], OWNER, nonce=2**255 + 7,
                        deadline=UnixTime(1_800_000_000))
    sessions = [_session_hash(s) for s in signed.sessions]
    struct = keccak(eth_abi.encode(["bytes32", "address", "bytes32", "uint256", "uint256"],
                                   [_h(EXPECTED_TYPES["Grant"]), OWNER.address, _array(sessions), 2**255 + 7,
                                    1_800_000_000]))
    assert signed.digest == _digest(struct)
    assert signed.recovered == OWNER.address
    assert signed.function() == "createSessionsWithSig"


def test_spawn_digest_matches_a_hand_computed_eip712_hash():
    signed = sign_spawn((CHAIN, 42), _params(), AGENT, nonce=5, deadline=UnixTime(1_800_000_000))
    struct = keccak(eth_abi.encode(["bytes32", "uint256", "bytes32", "uint256", "uint256"],
                                   [_h(EXPECTED_TYPES["Spawn"]), 42, _array([_session_hash(signed.sessions[0])]), 5,
                                    1_800_000_000]))
    assert signed.digest == _digest(struct)
    assert signed.function() == "spawnChildWithSig" and signed.arguments()[0] == 42


def test_execute_digests_match_hand_computed_eip712_hashes():
    one = sign_execute((CHAIN, 7), TARGET, "0.01 ether", "0xabcdef", AGENT, relay_fee=123, nonce=9,
                       deadline=UnixTime(1_800_000_000))
    struct = keccak(eth_abi.encode(
        ["bytes32", "uint256", "address", "uint256", "bytes32", "uint256", "uint256", "uint256"],
        [_h(EXPECTED_TYPES["Execute"]), 7, TARGET, 10**16, keccak(bytes.fromhex("abcdef")), 9, 1_800_000_000, 123]))
    assert one.digest == _digest(struct)
    batch = sign_execute_batch((CHAIN, 7), [(TARGET, 1, b"\x01"), (GUARD,)], AGENT, nonce=9,
                               deadline=UnixTime(1_800_000_000))
    calls = [keccak(eth_abi.encode(["bytes32", "address", "uint256", "bytes32"], [_h(CALL), t, value, keccak(data)]))
             for t, value, data in [(TARGET, 1, b"\x01"), (GUARD, 0, b"")]]
    struct = keccak(eth_abi.encode(["bytes32", "uint256", "bytes32", "uint256", "uint256", "uint256"],
                                   [_h(EXPECTED_TYPES["ExecuteBatch"]), 7, _array(calls), 9, 1_800_000_000, 0]))
    assert batch.digest == _digest(struct)


def test_another_chain_or_manager_changes_the_digest():
    base = sign_execute((CHAIN, 7), TARGET, 1, b"", AGENT, nonce=1, deadline=UnixTime(1_800_000_000))
    other_chain = sign_execute(((1, MANAGER), 7), TARGET, 1, b"", AGENT, nonce=1, deadline=UnixTime(1_800_000_000))
    other_manager = sign_execute(((31337, GUARD), 7), TARGET, 1, b"", AGENT, nonce=1,
                                 deadline=UnixTime(1_800_000_000))
    assert len({base.digest, other_chain.digest, other_manager.digest}) == 3


# --- an independent signer: cast --------------------------------------------------------------------------------------


@pytest.mark.skipif(not CAST.exists(), reason="npm @foundry-rs/cast is not installed")
@pytest.mark.parametrize("kind", ["grant", "spawn", "execute", "batch"])
def test_cast_wallet_sign_data_gives_the_same_signature(kind):
    signed = {
        "grant": lambda: sign_grant(CHAIN, [_params(), _params(label="b")], OWNER),
        "spawn": lambda: sign_spawn((CHAIN, 3), _params(), OWNER),
        "execute": lambda: sign_execute((CHAIN, 7), TARGET, 5, "0x1234", OWNER, relay_fee=1),
        "batch": lambda: sign_execute_batch((CHAIN, 7), [(TARGET, 1, b"")], OWNER),
    }[kind]()
    out = subprocess.run([str(CAST), "wallet", "sign", "--data", "--private-key", "0x" + bytes(OWNER.key).hex(),
                          json.dumps(signed.typed_data)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0x" + signed.signature.hex()


def test_a_callable_signer_gets_the_full_typed_data_json():
    seen = {}

    def wallet(typed):
        seen.update(json.loads(json.dumps(typed)))  # what a wallet receives is plain JSON
        return "0x" + bytes(Account.sign_typed_data(OWNER.key, full_message=typed).signature).hex()

    signed = sign_execute((CHAIN, 7), TARGET, 1, b"", wallet)
    assert seen == signed.typed_data and signed.recovered == OWNER.address


def test_an_ape_style_signer_signs_through_sign_message():
    class ApeLike:  # Ape's accounts: sign_message(SignableMessage) -> MessageSignature(v, r, s), r/s as bytes
        address = OWNER.address

        def sign_message(self, message):
            sig = Account.sign_message(message, OWNER.key)
            return type("MessageSignature", (), {"v": sig.v, "r": sig.r.to_bytes(32, "big").lstrip(b"\0"),
                                                 "s": sig.s.to_bytes(32, "big").lstrip(b"\0")})()

    signed = sign_grant(CHAIN, _params(), ApeLike())
    assert signed.recovered == OWNER.address
    assert signed.signature == sign_grant(CHAIN, _params(), OWNER, nonce=signed.nonce,
                                          deadline=UnixTime(signed.deadline)).signature


def test_safe_signature_concatenates_owner_signatures_in_address_order():
    owners = [Account.from_key("0x" + f"{i:02x}" * 32) for i in (3, 1, 2)]
    signed = sign_grant(CHAIN, _params(), OWNER, owner=GUARD)
    signature = safe_signature(GUARD, signed.typed_data, owners)
    wrapped = safe_message(GUARD, 31337, signed.digest)
    parts = [signature[i:i + 65] for i in range(0, len(signature), 65)]
    recovered = [Account._recover_hash(typed_digest(wrapped), signature=p) for p in parts]
    assert recovered == sorted((o.address for o in owners), key=lambda a: int(a, 16))


# --- JSON ---------------------------------------------------------------------------------------------------------


def test_signed_objects_round_trip_through_json(tmp_path):
    grant = sign_grant(CHAIN, [_params(), _params(label="x")], OWNER)
    execute = sign_execute((CHAIN, 7), TARGET, "1 gwei", "0x", AGENT, relay_fee="1 wei")
    assert load_signed(grant.to_json()) == grant
    assert SignedExecute.from_json(execute.to_json()) == execute
    assert SignedGrant.load(grant.save(tmp_path / "grant.json")) == grant
    assert grant.nonce < 2**256 and grant.nonce != sign_grant(CHAIN, _params(), OWNER).nonce  # random nonces
    assert isinstance(json.loads(grant.to_json())["typedData"]["message"]["nonce"], str)  # no precision lost


def test_a_relative_deadline_counts_from_now():
    import time

    signed = sign_execute((CHAIN, 7), TARGET, 0, b"", AGENT, deadline="10m")
    assert abs(signed.deadline - (int(time.time()) + 600)) <= 2


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["typedData"]["message"].update(nonce="-1"), "message.nonce: '-1' is not an unsigned integer"),
    (lambda d: d["typedData"]["message"].pop("deadline"), "message.deadline: missing"),
    (lambda d: d["typedData"]["message"]["sessions"][0]["budgets"][0].update(amount=str(2**128)),
     "message.sessions[0].budgets[0].amount"),
    (lambda d: d["typedData"]["message"]["sessions"][0].update(agent="0x12"), "message.sessions[0].agent"),
    (lambda d: d["typedData"].update(primaryType="Mail"), "typedData.primaryType: 'Mail' is none of"),
    (lambda d: d["typedData"]["types"]["Grant"].pop(), "typedData.types: not the manager's Grant types"),
    (lambda d: d["typedData"]["domain"].update(name="Other"), "typedData.domain: expected name 'Agent Sessions'"),
    (lambda d: d.pop("signature"), "signature: missing"),
])
def test_bad_signed_json_is_refused_naming_the_field_and_file(mutate, message):
    data = json.loads(sign_grant(CHAIN, _params(), OWNER).to_json())
    mutate(data)
    with pytest.raises(ValueError) as info:
        load_signed(json.dumps(data), source="grant.json")
    assert str(info.value).startswith("grant.json: ") and message in str(info.value)


def test_a_grant_is_not_loaded_as_an_execute():
    with pytest.raises(ValueError, match="typedData.primaryType: 'Grant', expected 'Execute'"):
        SignedExecute.from_json(sign_grant(CHAIN, _params(), OWNER).to_json())


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match=r"params\[1\].label: label 'x+' is 40 bytes long"):
        sign_grant(CHAIN, [_params(), {"agent": AGENT.address, "expiry": "1d", "label": "x" * 40}], OWNER)
    with pytest.raises(ValueError, match="deadline: cannot read 'soon'"):
        sign_execute((CHAIN, 7), TARGET, 0, b"", AGENT, deadline="soon")
    with pytest.raises(ValueError, match="target"):
        sign_execute((CHAIN, 7), "0x12", 0, b"", AGENT)


def test_an_ape_test_account_signs_through_its_sign_message(accounts):
    account = accounts[5]
    assert not hasattr(account, "sign_typed_data")  # so the SDK takes Ape's own path: sign_message
    signed = sign_grant(CHAIN, _params(), account)
    assert signed.recovered == account.address
