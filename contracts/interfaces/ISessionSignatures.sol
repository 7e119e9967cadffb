// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "./ISessionTypes.sol";

/// @title ISessionSignatures
/// @notice The wallet door of a SessionManager: what its owner and its agents sign off-chain (EIP-712 typed data)
/// and anyone submits, paying the gas. Served by SessionSignatures through the manager's fallback (delegatecall),
/// on the manager's own storage; every signed path runs the same checks as the direct one.
///
/// Domain (ERC-5267 `eip712Domain`, in ISessionViews): name "Agent Sessions", version "1", the chain id of the moment (a fork gets a
/// new domain) and the manager's address. Types (EIP-712 `encodeType`; referenced structs appended by name):
///
///     Grant(address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline)
///     Spawn(uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline)
///     SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,bool draft,
///                   bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,address[] guards)
///     BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)
///     Permission(address target,bytes4 selector)
///     Execute(uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,
///             uint256 relayFee)
///     ExecuteBatch(uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee)
///     Call(address target,uint256 value,bytes data)
///
/// The single-session functions sign a one-element `sessions` array. Nonces are a bitmap per signer (word
/// `nonce >> 8`, bit `nonce & 255`), shared by every type, so many keys sign out of order and a signer cancels
/// unused nonces with `invalidateNonces`. An EOA signs with ECDSA (65 bytes, low s); a contract (a Safe, a smart
/// account) answers ERC-1271 `isValidSignature`. The door's settings (deposits, relay-fee caps, cancelled nonces)
/// are written through ISessionManagerExtension and read through ISessionViews.
interface ISessionSignatures is ISessionTypes {
    /*//////////////////////////////////////////////////////////////
                                SIGNED GRANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Opens a root session the manager owner signed (a Grant of one session): ETH budgets come out of the
    /// owner's deposit, ERC-20 budgets by `transferFrom` on the owner's allowance; the token goes to the owner.
    function createSessionWithSig(
        SessionParams calldata params,
        address owner,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 id);

    /// @notice `createSessionWithSig` for many roots under one signature; ids are consecutive from `firstId`.
    function createSessionsWithSig(
        SessionParams[] calldata params,
        address owner,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 firstId);

    /// @notice Opens a child of `parentId` its current agent signed (a Spawn of one session); reserved out of the
    /// parent's unspent escrow like `spawnChild`; the child's token goes to that agent.
    function spawnChildWithSig(
        uint256 parentId,
        SessionParams calldata params,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 id);

    /*//////////////////////////////////////////////////////////////
                                SIGNED EXECUTES
    //////////////////////////////////////////////////////////////*/

    /// @notice `execute` signed by the session's current agent and submitted by anyone (the agent key needs no
    /// ETH). The submitter is paid `relayFee` in ETH out of the session's budget after the call, charged like any
    /// spend (budget, caps and allowances of the session and every ancestor) and never above `maxRelayFee` of the
    /// session or of any ancestor.
    function executeWithSig(
        uint256 id,
        address target,
        uint256 value,
        bytes calldata data,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee,
        bytes calldata signature
    ) external returns (bytes memory result);

    /// @notice `executeBatch` signed by the session's current agent; one relay fee for the batch.
    function executeBatchWithSig(
        uint256 id,
        Call[] calldata calls,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee,
        bytes calldata signature
    ) external returns (bytes[] memory results);
}
