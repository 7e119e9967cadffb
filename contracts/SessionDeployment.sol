// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {LibClone} from "solady/utils/LibClone.sol";
import {SessionStore} from "./SessionStore.sol";

/// @title SessionDeployment
/// @notice What a manager's code knows of where it runs: the factory that deployed it and its executor. Shared by
/// the manager and by the modules the factory deploys beside it (SessionSwaps), so both find them from immutables,
/// with no call (a module deployed on its own, before the factory, asks the manager instead: SessionModule).
abstract contract SessionDeployment is SessionStore {
    /// @dev The factory: deployer of this code (forbidden as a target, sole caller of `initialize`).
    address internal immutable _FACTORY;
    /// @dev Init code hash of the executor clone, so finding a manager's executor costs one hash.
    bytes32 internal immutable _EXECUTOR_INIT_CODE_HASH;

    constructor(address executorImplementation) {
        _FACTORY = msg.sender;
        _EXECUTOR_INIT_CODE_HASH = LibClone.initCodeHash(executorImplementation);
    }

    function _factory() internal view override returns (address) {
        return _FACTORY;
    }

    /// @dev The manager's executor: the CREATE2 clone it deployed in `initialize` (salt 0).
    function _executor() internal view override returns (address) {
        return LibClone.predictDeterministicAddress(_EXECUTOR_INIT_CODE_HASH, bytes32(0), address(this));
    }
}
