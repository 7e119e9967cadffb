// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {ISessionFactory} from "./interfaces/ISessionFactory.sol";
import {SessionExecutor} from "./SessionExecutor.sol";
import {SessionManager} from "./SessionManager.sol";
import {SessionManagerExtension} from "./SessionManagerExtension.sol";
import {SessionRenderer} from "./SessionRenderer.sol";

/// @title SessionFactory
/// @notice Registry of managers: one EIP-1167 clone of SessionManager per owner and salt, at a CREATE2
/// address derived from both, so an owner's manager address is known before it exists.
contract SessionFactory is ISessionFactory {
    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionFactory
    address public immutable implementation;

    mapping(address owner => address[]) private _managers;
    mapping(address manager => bool) private _isManager;

    /// @param extension A deployed SessionManagerExtension (the cold half every manager delegates to; it knows the
    /// signed entry points). The executor implementation and the token-metadata renderer are deployed here.
    constructor(address extension) {
        address signatures = SessionManagerExtension(payable(extension)).SIGNATURES();
        // the implementation records this factory as the only caller of `initialize`
        implementation = address(
            new SessionManager(extension, signatures, address(new SessionExecutor()), address(new SessionRenderer()))
        );
    }

    /*//////////////////////////////////////////////////////////////
                               FUNCTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ISessionFactory
    function deployManager(address owner, bytes32 salt) external returns (address manager) {
        // only for the caller: a front-runner could otherwise take the owner's first address and list position
        if (owner != msg.sender) revert DeployerNotOwner(owner, msg.sender);
        bytes32 key = _key(owner, salt);
        address predicted = LibClone.predictDeterministicAddress(implementation, key, address(this));
        // one manager per owner and salt
        if (predicted.code.length != 0) revert ManagerExists(predicted);
        manager = LibClone.cloneDeterministic(implementation, key);
        SessionManager(payable(manager)).initialize(owner);
        _managers[owner].push(manager);
        _isManager[manager] = true;
        emit ManagerDeployed(owner, manager, salt);
    }

    /// @inheritdoc ISessionFactory
    function predictManager(address owner, bytes32 salt) external view returns (address) {
        return LibClone.predictDeterministicAddress(implementation, _key(owner, salt), address(this));
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

    /// @dev The CREATE2 salt: the owner is part of it, so nobody can take another owner's address.
    function _key(address owner, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(owner, salt));
    }
}
