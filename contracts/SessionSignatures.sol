// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionSignatures} from "./interfaces/ISessionSignatures.sol";
import {SessionActions} from "./SessionActions.sol";
import {SessionModule} from "./SessionModule.sol";

/// @title SessionSignatures
/// @notice The wallet door (ISessionSignatures): grants the manager owner signed, children a parent's agent signed
/// and executes an agent signed, submitted by anyone. Only meaningful through a manager's fallback (delegatecall),
/// where it runs on the manager's storage. Each signed path checks the signature, spends the nonce, then runs the
/// very code of its direct twin (SessionActions) for the signer instead of `msg.sender`.
contract SessionSignatures is SessionModule, SessionActions, ISessionSignatures {
    /*//////////////////////////////////////////////////////////////
                                 TYPE HASHES
    //////////////////////////////////////////////////////////////*/

    bytes32 internal constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    // Written out whole (adjacent literals are one string at compile time): a struct's type is its own fields, then
    // every struct it references, sorted by name (EIP-712 `encodeType`).
    bytes32 internal constant _BUDGET_TYPEHASH =
        keccak256("BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)");
    bytes32 internal constant _PERMISSION_TYPEHASH = keccak256("Permission(address target,bytes4 selector)");
    bytes32 internal constant _PARAMS_TYPEHASH = keccak256(
        "SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,bool draft,"
        "bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,address[] guards)"
        "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)"
        "Permission(address target,bytes4 selector)"
    );
    bytes32 internal constant _GRANT_TYPEHASH = keccak256(
        "Grant(address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline)"
        "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)"
        "Permission(address target,bytes4 selector)"
        "SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,bool draft,"
        "bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,address[] guards)"
    );
    bytes32 internal constant _SPAWN_TYPEHASH = keccak256(
        "Spawn(uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline)"
        "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)"
        "Permission(address target,bytes4 selector)"
        "SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,uint16 maxCallsPerPeriod,bool draft,"
        "bool anyTarget,bytes32 label,BudgetParams[] budgets,Permission[] permissions,address[] guards)"
    );
    bytes32 internal constant _EXECUTE_TYPEHASH = keccak256(
        "Execute(uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,"
        "uint256 relayFee)"
    );
    bytes32 internal constant _EXECUTE_BATCH_TYPEHASH = keccak256(
        "ExecuteBatch(uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee)"
        "Call(address target,uint256 value,bytes data)"
    );
    bytes32 internal constant _CALL_TYPEHASH = keccak256("Call(address target,uint256 value,bytes data)");

    /*//////////////////////////////////////////////////////////////
                                SIGNED GRANTS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionSignatures
    function createSessionWithSig(
        SessionParams calldata params,
        address owner,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 id) {
        _useGrantSignature(owner, keccak256(abi.encode(_hashParams(params))), nonce, deadline, signature);
        uint256 eth;
        (id, eth) = _openRoot(params, owner);
        _drawDeposit(owner, eth);
    }

    /// @inheritdoc ISessionSignatures
    function createSessionsWithSig(
        SessionParams[] calldata params,
        address owner,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 firstId) {
        _useGrantSignature(owner, _hashParamsList(params), nonce, deadline, signature);
        uint256 eth;
        (firstId, eth) = _openRoots(params, owner);
        _drawDeposit(owner, eth);
    }

    /// @inheritdoc ISessionSignatures
    function spawnChildWithSig(
        uint256 parentId,
        SessionParams calldata params,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 id) {
        address agent = _useSpawnSignature(
            parentId, keccak256(abi.encode(_hashParams(params))), nonce, deadline, signature
        );
        return _openChild(parentId, params, agent);
    }

    /*//////////////////////////////////////////////////////////////
                               SIGNED EXECUTES
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionSignatures
    function executeWithSig(
        uint256 id,
        address target,
        uint256 value,
        bytes calldata data,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee,
        bytes calldata signature
    ) external nonReentrant returns (bytes memory result) {
        address agent = _agentOf(id);
        _useSignature(
            agent, _hashExecute(id, target, value, data, nonce, deadline, relayFee), nonce, deadline, signature
        );
        result = _execute(id, agent, target, value, data);
        if (relayFee != 0) _payRelayer(id, relayFee);
    }

    /// @inheritdoc ISessionSignatures
    function executeBatchWithSig(
        uint256 id,
        Call[] calldata calls,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee,
        bytes calldata signature
    ) external nonReentrant returns (bytes[] memory results) {
        address agent = _agentOf(id);
        bytes32 structHash =
            keccak256(abi.encode(_EXECUTE_BATCH_TYPEHASH, id, _hashCalls(calls), nonce, deadline, relayFee));
        _useSignature(agent, structHash, nonce, deadline, signature);
        results = _executeBatch(id, agent, calls);
        if (relayFee != 0) _payRelayer(id, relayFee);
    }

    /*//////////////////////////////////////////////////////////////
                             INTERNAL: SIGNATURES
    //////////////////////////////////////////////////////////////*/

    /// @dev The EIP-712 digest of `structHash` in this manager's domain on the chain of the moment (recomputed on
    /// every call: under delegatecall `address(this)` is the manager, and a fork changes the chain id).
    function _hashTypedData(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                _DOMAIN_TYPEHASH,
                keccak256(bytes(_DOMAIN_NAME)),
                keccak256(bytes(_DOMAIN_VERSION)),
                block.chainid,
                address(this)
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    /// @dev Checks `signer` signed `structHash` (in this manager's domain on this chain) before `deadline`, and
    /// spends its `nonce`.
    function _useSignature(
        address signer,
        bytes32 structHash,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        _requireSignedBy(signer, _hashTypedData(structHash), signature);
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = _nonces[signer][nonce >> 8];
        if (word & bit != 0) revert NonceUsed(signer, nonce);
        _nonces[signer][nonce >> 8] = word | bit;
    }

    /// @dev A contract signs through ERC-1271 (low-level, so a wallet that reverts or answers garbage is reported
    /// with its answer); a key through ECDSA, canonical form only (OpenZeppelin's recovery rejects a high s).
    function _requireSignedBy(address signer, bytes32 digest, bytes calldata signature) internal view {
        if (signer.code.length != 0) {
            (bool ok, bytes memory answer) =
                signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
            if (!ok || answer.length != 32 || bytes4(bytes32(answer)) != IERC1271.isValidSignature.selector) {
                revert ContractSignatureRejected(signer, answer);
            }
            return;
        }
        (address recovered, ECDSA.RecoverError err, bytes32 arg) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert InvalidSignatureS(arg);
        if (err == ECDSA.RecoverError.InvalidSignatureLength) revert InvalidSignatureLength(uint256(arg));
        // an unrecoverable signature reads as the zero address, which signs for nobody
        if (recovered == address(0) || recovered != signer) revert InvalidSigner(signer, recovered);
    }

    /// @dev Checks the manager owner `owner` signed a Grant of the sessions hashed `sessions`; spends the nonce.
    function _useGrantSignature(
        address owner,
        bytes32 sessions,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal {
        // only the manager owner grants roots
        if (owner != _owner) revert NotManagerOwner(owner);
        bytes32 structHash = keccak256(abi.encode(_GRANT_TYPEHASH, owner, sessions, nonce, deadline));
        _useSignature(owner, structHash, nonce, deadline, signature);
    }

    /// @dev Checks the agent of `parentId` signed a Spawn of the sessions hashed `sessions`; spends the nonce and
    /// returns the agent.
    function _useSpawnSignature(
        uint256 parentId,
        bytes32 sessions,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal returns (address agent) {
        agent = _agentOf(parentId);
        bytes32 structHash = keccak256(abi.encode(_SPAWN_TYPEHASH, parentId, sessions, nonce, deadline));
        _useSignature(agent, structHash, nonce, deadline, signature);
    }

    /// @dev The key that must sign for session `id`: its agent now (a rotated-out key's signatures die with it).
    function _agentOf(uint256 id) internal view returns (address) {
        Core storage c = _core[id];
        if (c.status == Status.None) revert SessionNotFound(id);
        return c.agent;
    }

    /*//////////////////////////////////////////////////////////////
                            INTERNAL: FUNDS
    //////////////////////////////////////////////////////////////*/

    /// @dev Takes the ETH budgets of signed roots out of the owner's deposit.
    function _drawDeposit(address owner, uint256 eth) internal {
        if (eth == 0) return;
        uint256 available = _deposits[owner];
        if (eth > available) revert DepositTooLow(owner, eth, available);
        _deposits[owner] = available - eth;
    }

    /// @dev Pays the submitter `fee` in ETH out of session `id`: within the relay-fee cap of the session and of
    /// every ancestor, then charged like any spend of the session.
    function _payRelayer(uint256 id, uint256 fee) internal {
        for (uint256 cur = id; cur != 0; cur = _parentOf(cur)) {
            uint256 cap = _maxRelayFee[cur];
            if (fee > cap) revert RelayFeeAboveCap(cur, fee, cap);
        }
        _spend(id, _core[id], NATIVE, fee);
        SafeTransferLib.safeTransferETH(msg.sender, fee);
        emit RelayFeePaid(id, msg.sender, fee);
    }

    /*//////////////////////////////////////////////////////////////
                         INTERNAL: EIP-712 STRUCT HASHES
    //////////////////////////////////////////////////////////////*/

    function _hashExecute(
        uint256 id,
        address target,
        uint256 value,
        bytes calldata data,
        uint256 nonce,
        uint256 deadline,
        uint256 relayFee
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(_EXECUTE_TYPEHASH, id, target, value, keccak256(data), nonce, deadline, relayFee));
    }

    function _hashCalls(Call[] calldata calls) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            hashes[i] = keccak256(abi.encode(_CALL_TYPEHASH, calls[i].target, calls[i].value, keccak256(calls[i].data)));
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _hashParamsList(SessionParams[] calldata params) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](params.length);
        for (uint256 i; i < params.length; ++i) {
            hashes[i] = _hashParams(params[i]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _hashParams(SessionParams calldata p) internal pure returns (bytes32) {
        bytes32[] memory rows = new bytes32[](p.budgets.length);
        for (uint256 i; i < rows.length; ++i) {
            BudgetParams calldata b = p.budgets[i];
            rows[i] = keccak256(abi.encode(_BUDGET_TYPEHASH, b.token, b.amount, b.perCallCap, b.periodAllowance));
        }
        bytes32[] memory perms = new bytes32[](p.permissions.length);
        for (uint256 i; i < perms.length; ++i) {
            perms[i] = keccak256(abi.encode(_PERMISSION_TYPEHASH, p.permissions[i].target, p.permissions[i].selector));
        }
        bytes memory head = abi.encode(
            _PARAMS_TYPEHASH, p.agent, p.expiry, p.maxIdle, p.period, p.maxCallsPerPeriod, p.draft, p.anyTarget, p.label
        );
        return keccak256(
            abi.encodePacked(
                head,
                keccak256(abi.encodePacked(rows)),
                keccak256(abi.encodePacked(perms)),
                keccak256(abi.encodePacked(p.guards))
            )
        );
    }
}
