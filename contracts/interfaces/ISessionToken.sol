// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionToken
/// @notice The ERC-721 face of a SessionManager: one token per session (token id = session id), burned when
/// the session is closed. ERC-4907-style: the "user" of a token is the session's agent key and its expiry is
/// the session's.
interface ISessionToken {
    /// @notice The user (agent) of `tokenId` changed to `user`, valid until `expires` (unix seconds).
    event UpdateUser(uint256 indexed tokenId, address indexed user, uint64 expires);

    /// @notice The agent key of session `tokenId` while it can act; zero once it cannot.
    function userOf(uint256 tokenId) external view returns (address);

    /// @notice The expiry of session `tokenId` (exclusive, unix seconds).
    function userExpires(uint256 tokenId) external view returns (uint256);
}
