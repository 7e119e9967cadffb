// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {ISessionManager} from "./ISessionManager.sol";
import {ISessionManagerExtension} from "./ISessionManagerExtension.sol";
import {ISessionSignatures} from "./ISessionSignatures.sol";
import {ISessionSwaps} from "./ISessionSwaps.sol";
import {ISessionViews} from "./ISessionViews.sol";
import {ISessionToken} from "./ISessionToken.sol";

/// @title IAgentSessions
/// @notice Everything a SessionManager answers to: the hot paths, the cold writes, the reads and the signed
/// entry points reached through its fallback, and the ERC-721 / ERC-4907 token surface. Tools bind this ABI to a manager address.
interface IAgentSessions is
    ISessionManager,
    ISessionManagerExtension,
    ISessionViews,
    ISessionSignatures,
    ISessionSwaps,
    ISessionToken,
    IERC721Metadata
{}
