// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionManager} from "./interfaces/ISessionManager.sol";
import {SessionStore} from "./SessionStore.sol";

/// @title SessionModule
/// @notice Base of the code a SessionManager runs by delegatecall on its own storage (SessionManagerExtension,
/// SessionViews): what the manager knows from its immutables, these modules ask the manager for. Called directly,
/// a module sees an empty store of its own.
abstract contract SessionModule is SessionStore {
    /// @dev The factory, read from the manager's own code (its immutables are not visible through delegatecall).
    function _factory() internal view override returns (address) {
        return ISessionManager(address(this)).FACTORY();
    }

    /// @dev The executor, asked of the manager's own code (it derives it from an immutable).
    function _executor() internal view override returns (address) {
        return ISessionManager(address(this)).executor();
    }

    /// @dev Never reached: the manager answers `tokenURI` itself (through its renderer).
    function tokenURI(uint256) public pure override returns (string memory) {}
}
