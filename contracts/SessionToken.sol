// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "solady/tokens/ERC721.sol";
import {ISessionToken} from "./interfaces/ISessionToken.sol";

/// @title SessionToken
/// @notice The ERC-721 side of a SessionManager (Solady's ERC721): token id = session id, ERC-4907-style
/// `userOf` / `userExpires`; the on-chain JSON metadata (`tokenURI`) comes from a SessionRenderer. The manager
/// supplies the session data via hooks.
abstract contract SessionToken is ERC721, ISessionToken {
    /*//////////////////////////////////////////////////////////////
                                METADATA
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc ERC721
    function name() public pure override returns (string memory) {
        return "Agent Session";
    }

    /// @inheritdoc ERC721
    function symbol() public pure override returns (string memory) {
        return "SESSION";
    }

    /// @inheritdoc ISessionToken
    function userOf(uint256 tokenId) external view returns (address) {
        return _tokenUser(tokenId);
    }

    /// @inheritdoc ISessionToken
    function userExpires(uint256 tokenId) external view returns (uint256) {
        return _tokenExpires(tokenId);
    }

    /// @dev ERC-165: ERC-721 (+ metadata) and ERC-4907 (0xad092b5c).
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == 0xad092b5c || super.supportsInterface(interfaceId);
    }

    /*//////////////////////////////////////////////////////////////
                                 HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @dev The agent of session `id` while it can act, else zero.
    function _tokenUser(uint256 id) internal view virtual returns (address);

    /// @dev The expiry of session `id`.
    function _tokenExpires(uint256 id) internal view virtual returns (uint256);
}
