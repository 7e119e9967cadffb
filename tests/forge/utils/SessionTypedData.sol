// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "../../../contracts/interfaces/ISessionTypes.sol";

/// @notice The tests' own EIP-712 encoding of the wallet door's messages (see ISessionSignatures), written from the
/// types rather than from the contract. The unit tests check its type hashes against forge's `vm.eip712HashType`; the
/// unit tests and the invariant handler both sign with it.
library SessionTypedData {
    bytes32 internal constant DOMAIN_T =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    bytes internal constant BUDGET_DEF =
        "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)";
    bytes internal constant PERMISSION_DEF = "Permission(address target,bytes4 selector)";
    bytes internal constant PARAMS_DEF = "SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,"
        "uint16 maxCallsPerPeriod,bool draft,bool anyTarget,bytes32 label,BudgetParams[] budgets,"
        "Permission[] permissions,address[] guards)";
    bytes internal constant GRANT_DEF = "Grant(address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline)";
    bytes internal constant SPAWN_DEF =
        "Spawn(uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline)";
    bytes internal constant EXECUTE_DEF =
        "Execute(uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,uint256 relayFee)";
    bytes internal constant BATCH_DEF =
        "ExecuteBatch(uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee)";
    bytes internal constant CALL_DEF = "Call(address target,uint256 value,bytes data)";

    /// @dev A struct's type: its own fields, then every struct it references, sorted by name (EIP-712 `encodeType`).
    function budgetType() internal pure returns (bytes32) {
        return keccak256(BUDGET_DEF);
    }

    function permissionType() internal pure returns (bytes32) {
        return keccak256(PERMISSION_DEF);
    }

    function paramsType() internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(PARAMS_DEF, BUDGET_DEF, PERMISSION_DEF));
    }

    function grantType() internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(GRANT_DEF, BUDGET_DEF, PERMISSION_DEF, PARAMS_DEF));
    }

    function spawnType() internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(SPAWN_DEF, BUDGET_DEF, PERMISSION_DEF, PARAMS_DEF));
    }

    function executeType() internal pure returns (bytes32) {
        return keccak256(EXECUTE_DEF);
    }

    function batchType() internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(BATCH_DEF, CALL_DEF));
    }

    function callType() internal pure returns (bytes32) {
        return keccak256(CALL_DEF);
    }

    /// @dev The digest a signer signs for `manager` on this chain.
    function digest(address manager, bytes32 structHash) internal view returns (bytes32) {
        bytes32 domain =
            keccak256(abi.encode(DOMAIN_T, keccak256("Agent Sessions"), keccak256("1"), block.chainid, manager));
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    function hashParams(ISessionTypes.SessionParams memory p) internal pure returns (bytes32) {
        bytes32[] memory rows = new bytes32[](p.budgets.length);
        for (uint256 i; i < rows.length; ++i) {
            ISessionTypes.BudgetParams memory b = p.budgets[i];
            rows[i] = keccak256(abi.encode(budgetType(), b.token, b.amount, b.perCallCap, b.periodAllowance));
        }
        bytes32[] memory perms = new bytes32[](p.permissions.length);
        for (uint256 i; i < perms.length; ++i) {
            perms[i] = keccak256(abi.encode(permissionType(), p.permissions[i].target, p.permissions[i].selector));
        }
        return keccak256(
            bytes.concat(
                abi.encode(
                    paramsType(),
                    p.agent,
                    p.expiry,
                    p.maxIdle,
                    p.period,
                    p.maxCallsPerPeriod,
                    p.draft,
                    p.anyTarget,
                    p.label
                ),
                abi.encode(
                    keccak256(abi.encodePacked(rows)),
                    keccak256(abi.encodePacked(perms)),
                    keccak256(abi.encodePacked(p.guards))
                )
            )
        );
    }

    function grantHash(address owner, ISessionTypes.SessionParams[] memory ps, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory hashes = new bytes32[](ps.length);
        for (uint256 i; i < ps.length; ++i) {
            hashes[i] = hashParams(ps[i]);
        }
        return keccak256(abi.encode(grantType(), owner, keccak256(abi.encodePacked(hashes)), nonce, deadline));
    }

    function spawnHash(uint256 parentId, ISessionTypes.SessionParams memory p, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(spawnType(), parentId, keccak256(abi.encode(hashParams(p))), nonce, deadline));
    }

    function executeHash(
        uint256 id,
        address target,
        uint256 value,
        bytes memory data,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(executeType(), id, target, value, keccak256(data), nonce, deadline, relayFee));
    }

    function batchHash(uint256 id, ISessionTypes.Call[] memory calls, uint256 nonce, uint256 deadline, uint256 relayFee)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory hashes = new bytes32[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            hashes[i] = keccak256(abi.encode(callType(), calls[i].target, calls[i].value, keccak256(calls[i].data)));
        }
        return keccak256(abi.encode(batchType(), id, keccak256(abi.encodePacked(hashes)), nonce, deadline, relayFee));
    }
}
