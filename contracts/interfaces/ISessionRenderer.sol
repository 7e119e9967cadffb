// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionRenderer
/// @notice Renders the ERC-721 metadata of a session token from a manager's public views. Kept apart from the
/// manager so the metadata format can grow without taking contract-size room from the rules.
interface ISessionRenderer {
    /// @notice The metadata of session `id` of `manager` as a base64 JSON data URI: name, description and
    /// attributes (label, status, agent, expiry, depth, parent, available and spent per token). Reverts with
    /// the manager's TokenDoesNotExist for an id without a token (never created, or closed).
    function tokenURI(address manager, uint256 id) external view returns (string memory);
}
