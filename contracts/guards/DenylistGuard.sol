// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionGuard} from "../interfaces/ISessionGuard.sol";

/// @title DenylistGuard
/// @notice A guard that refuses calls and payments to denied addresses. One deployment serves many
/// sessions; its admin maintains the list (e.g. known scam contracts, sanctioned addresses).
contract DenylistGuard is ISessionGuard {
    /// @notice `target` is on the denylist.
    error Denied(address target);
    /// @notice `caller` is not the admin.
    error NotAdmin(address caller);

    /// @notice `target` was added to (`denied` true) or removed from the denylist.
    event DenylistUpdated(address indexed target, bool denied);

    /// @notice Who maintains the list.
    address public immutable admin;

    mapping(address target => bool) public isDenied;

    constructor(address admin_) {
        admin = admin_;
    }

    /// @notice Adds or removes `targets`.
    function setDenied(address[] calldata targets, bool denied) external {
        // only the admin edits the list
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        for (uint256 i; i < targets.length; ++i) {
            isDenied[targets[i]] = denied;
            emit DenylistUpdated(targets[i], denied);
        }
    }

    /// @inheritdoc ISessionGuard
    function checkCall(address, uint256, address, address target, address, uint256, bytes calldata)
        external
        view
        returns (bool)
    {
        // refuse denied targets with a reason the manager passes on
        if (isDenied[target]) revert Denied(target);
        return true;
    }
}
