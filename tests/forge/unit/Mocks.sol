// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISessionTypes} from "../../../contracts/interfaces/ISessionTypes.sol";
import {WeirdLyingToken} from "../../../contracts/test/WeirdLyingToken.sol";

/// @notice A session holder (or payee) whose every ETH receipt reverts.
contract EthRejecter {
    error NoEth();

    receive() external payable {
        revert NoEth();
    }
}

/// @notice A guard that answers with whatever raw bytes it is told to (to test how the manager reads answers).
contract RawAnswerGuard {
    bytes internal _answer;

    constructor(bytes memory answer) {
        _answer = answer;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        return _answer;
    }
}

/// @notice A swap target that makes a lying token under-report balances while it is called, so the manager
/// sees more leave than it approved.
contract LieFlipper {
    function flip(WeirdLyingToken token, uint256 mulBps) external {
        token.setLie(mulBps, 0);
    }
}

/// @notice A stand-in manager for the renderer: owns every token and returns the SessionInfo it was given, so
/// statuses a real manager never renders (completed, none) can be rendered.
contract FakeManager {
    ISessionTypes.SessionInfo internal _info;

    function set(ISessionTypes.Status status, bytes32 label) external {
        _info.id = 1;
        _info.status = status;
        _info.label = label;
    }

    function ownerOf(uint256) external view returns (address) {
        return address(this);
    }

    function getSession(uint256) external view returns (ISessionTypes.SessionInfo memory) {
        return _info;
    }
}
