// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Base64} from "solady/utils/Base64.sol";
import {LibString} from "solady/utils/LibString.sol";
import {IAgentSessions} from "./interfaces/IAgentSessions.sol";
import {ISessionRenderer} from "./interfaces/ISessionRenderer.sol";
import {ISessionTypes} from "./interfaces/ISessionTypes.sol";

/// @title SessionRenderer
/// @notice On-chain JSON metadata of session tokens, read through a manager's public views. Stateless: every
/// manager of a factory shares the one its factory deployed.
contract SessionRenderer is ISessionRenderer {
    using LibString for uint256;
    using LibString for address;

    /// @dev The manager's own marker for the native currency in budgets.
    address internal constant _NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// @inheritdoc ISessionRenderer
    function tokenURI(address manager, uint256 id) external view returns (string memory) {
        // an id without a token reverts here, with the manager's own error
        IAgentSessions(manager).ownerOf(id);
        string memory json = string.concat(
            '{"name":"Agent Session #',
            id.toString(),
            '","description":"A bounded, revocable session of an autonomous agent.","attributes":',
            _attributesJSON(IAgentSessions(manager).getSession(id)),
            "}"
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    function _attributesJSON(ISessionTypes.SessionInfo memory s) internal pure returns (string memory json) {
        json = string.concat(
            "[",
            _trait("label", _labelText(s.label)),
            ",",
            _trait("status", _statusName(s.status)),
            ",",
            _trait("agent", s.agent.toHexString()),
            ",",
            _numberTrait("expiry", s.expiry),
            ",",
            _numberTrait("depth", s.depth),
            ",",
            _numberTrait("parent", s.parentId)
        );
        for (uint256 i; i < s.budgets.length; ++i) {
            ISessionTypes.BudgetInfo memory b = s.budgets[i];
            string memory key = b.token == _NATIVE ? "ETH" : b.token.toHexString();
            json = string.concat(json, ",", _numberTrait(string.concat("available ", key), b.available));
            // an ETH budget's lifetime spending is not kept on chain (its events carry it)
            if (b.token != _NATIVE) {
                json = string.concat(json, ",", _numberTrait(string.concat("spent ", key), b.spent));
            }
        }
        json = string.concat(json, "]");
    }

    /// @dev The label as (JSON-escaped) text when it is ASCII; otherwise its hex, so the JSON stays valid UTF-8.
    function _labelText(bytes32 label) internal pure returns (string memory) {
        for (uint256 i; i < 32; ++i) {
            uint8 ch = uint8(label[i]);
            if (ch == 0) break;
            if (ch > 0x7e) return LibString.toHexString(uint256(label), 32);
        }
        return LibString.fromSmallString(label);
    }

    function _statusName(ISessionTypes.Status s) internal pure returns (string memory) {
        if (s == ISessionTypes.Status.Draft) return "draft";
        if (s == ISessionTypes.Status.Active) return "active";
        if (s == ISessionTypes.Status.Paused) return "paused";
        if (s == ISessionTypes.Status.Completed) return "completed";
        if (s == ISessionTypes.Status.Revoked) return "revoked";
        if (s == ISessionTypes.Status.Expired) return "expired";
        return "none";
    }

    /// @dev `{"trait_type":"<key>","value":"<value>"}` with `value` JSON-escaped.
    function _trait(string memory key, string memory value) internal pure returns (string memory) {
        return string.concat('{"trait_type":"', key, '","value":"', LibString.escapeJSON(value), '"}');
    }

    /// @dev `{"trait_type":"<key>","value":<number>}`.
    function _numberTrait(string memory key, uint256 value) internal pure returns (string memory) {
        return string.concat('{"trait_type":"', key, '","value":', value.toString(), "}");
    }
}
