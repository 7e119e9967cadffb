// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test-only malicious ERC-20 (for tests/contracts/test_attacks.py): before it moves tokens in
/// `transfer` and/or `transferFrom` it replays a stored call into `victim` (once per arming) and records
/// whether that reentry succeeded and what it reverted with. The token movement itself always goes through.
contract ReentrantToken is ERC20 {
    /// @notice Hook on `transferFrom` (how a manager pulls funding).
    uint8 public constant ON_TRANSFER_FROM = 1;
    /// @notice Hook on `transfer` (how a manager pays out).
    uint8 public constant ON_TRANSFER = 2;

    address public victim;
    bytes public payload;
    uint8 public hooks;
    bool public attempted;
    bool public reentered;
    bytes public lastError;

    constructor() ERC20("Reentrant", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Replays `payload_` into `victim_` on the next hooked transfer (`hooks_` = bit set of ON_*).
    function arm(address victim_, bytes calldata payload_, uint8 hooks_) external {
        victim = victim_;
        payload = payload_;
        hooks = hooks_;
        attempted = false;
        reentered = false;
        delete lastError;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (hooks & ON_TRANSFER != 0) _attack();
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (hooks & ON_TRANSFER_FROM != 0) _attack();
        return super.transferFrom(from, to, value);
    }

    function _attack() internal {
        if (victim == address(0) || attempted) return;
        attempted = true;
        (bool ok, bytes memory ret) = victim.call(payload);
        reentered = ok;
        lastError = ret;
    }
}
