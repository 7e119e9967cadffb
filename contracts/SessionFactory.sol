// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {ISessionFactory} from "./interfaces/ISessionFactory.sol";
import {SessionExecutor} from "./SessionExecutor.sol";
import {SessionManager} from "./SessionManager.sol";
import {SessionManagerExtension} from "./SessionManagerExtension.sol";
import {SessionRenderer} from "./SessionRenderer.sol";
import {SessionSwaps} from "./SessionSwaps.sol";

/// @title SessionFactory
/// @notice Registry of managers: one SessionManager per owner and salt, at a CREATE2 address derived from both, so
/// an owner's manager address is known before it exists. Each manager is a full copy of the implementation's runtime
/// code (immutables included), not a proxy: a proxy's delegatecall would cost every call about 2,700 gas for the
/// life of the manager, to save a one-time deployment (about 4.8M gas, once per owner).
contract SessionFactory is ISessionFactory {
    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionFactory
    address public immutable implementation;

    /// @dev keccak256 of `_initCode()`, the init code every manager is deployed with.
    bytes32 private immutable _INIT_CODE_HASH;

    mapping(address owner => address[]) private _managers;
    mapping(address manager => bool) private _isManager;

    /// @param extension A deployed SessionManagerExtension (the cold half every manager delegates to; it knows the
    /// signed entry points). The executor implementation, the swaps module and the token-metadata renderer are
    /// deployed here.
    constructor(address extension) {
        address signatures = SessionManagerExtension(payable(extension)).SIGNATURES();
        // the implementation records this factory as the only caller of `initialize`
        address executorImplementation = address(new SessionExecutor());
        address swaps = address(new SessionSwaps(executorImplementation));
        address impl = address(
            new SessionManager(extension, signatures, swaps, executorImplementation, address(new SessionRenderer()))
        );
        implementation = impl;
        _INIT_CODE_HASH = keccak256(_copyOf(impl));
    }

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionFactory
    function deployManager(address owner, bytes32 salt) external returns (address manager) {
        // only for the caller: a front-runner could otherwise take the owner's first address and list position
        if (owner != msg.sender) revert DeployerNotOwner(owner, msg.sender);
        bytes32 key = _key(owner, salt);
        address predicted = LibClone.predictDeterministicAddress(_INIT_CODE_HASH, key, address(this));
        // one manager per owner and salt
        if (predicted.code.length != 0) revert ManagerExists(predicted);
        bytes memory initCode = _copyOf(implementation);
        /// @solidity memory-safe-assembly
        assembly {
            manager := create2(0, add(initCode, 0x20), mload(initCode), key)
        }
        // out of gas for the code deposit, most likely: say so rather than initialise nothing
        if (manager == address(0)) revert ManagerDeployFailed();
        SessionManager(payable(manager)).initialize(owner);
        _managers[owner].push(manager);
        _isManager[manager] = true;
        emit ManagerDeployed(owner, manager, salt);
    }

    /// @inheritdoc ISessionFactory
    function predictManager(address owner, bytes32 salt) external view returns (address) {
        return LibClone.predictDeterministicAddress(_INIT_CODE_HASH, _key(owner, salt), address(this));
    }

    /// @inheritdoc ISessionFactory
    function managersOf(address owner, uint256 offset, uint256 limit) external view returns (address[] memory page) {
        address[] storage all = _managers[owner];
        uint256 n = offset >= all.length ? 0 : all.length - offset;
        if (n > limit) n = limit;
        page = new address[](n);
        for (uint256 i; i < n; ++i) {
            page[i] = all[offset + i];
        }
    }

    /// @inheritdoc ISessionFactory
    function managerCount(address owner) external view returns (uint256) {
        return _managers[owner].length;
    }

    /// @inheritdoc ISessionFactory
    function isManager(address manager) external view returns (bool) {
        return _isManager[manager];
    }

    /// @dev Init code that deploys a copy of `impl`'s runtime code: EXTCODECOPY it to memory 0 and return it.
    ///     PUSH20 impl, EXTCODESIZE, DUP1, PUSH0, PUSH0, PUSH20 impl, EXTCODECOPY, PUSH0, RETURN
    function _copyOf(address impl) private pure returns (bytes memory) {
        return abi.encodePacked(hex"73", impl, hex"3b805f5f73", impl, hex"3c5ff3");
    }

    /// @dev The CREATE2 salt: the owner is part of it, so nobody can take another owner's address.
    function _key(address owner, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(owner, salt));
    }
}
