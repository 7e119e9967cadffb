// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only call target: records calls, accepts ETH, can be told to revert.
contract Target {
    error Boom(uint256 code);

    uint256 public pings;
    uint256 public received;
    address public lastCaller;

    event Pinged(address indexed caller, uint256 value);

    receive() external payable {
        received += msg.value;
    }

    function ping() external payable returns (uint256) {
        pings += 1;
        received += msg.value;
        lastCaller = msg.sender;
        emit Pinged(msg.sender, msg.value);
        return pings;
    }

    function other() external pure returns (uint256) {
        return 42;
    }

    function fail(uint256 code) external pure {
        revert Boom(code);
    }
}
