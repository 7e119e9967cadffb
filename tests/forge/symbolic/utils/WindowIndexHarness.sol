// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionStore} from "../../../../contracts/SessionStore.sol";

/// @notice Exposes SessionStore's `_windowIndex` (the period-window index every periodic allowance and call limit
/// uses) for any timing word. A harness, not the manager: the function is internal, and through the public ABI a
/// window always starts at creation or activation (never in the future) with a 32-bit period, so the manager alone
/// cannot reach every (start, period, now) the function must handle. It inherits the real code, so what is proved
/// here is what the manager runs.
contract WindowIndexHarness is SessionStore {
    function windowIndex(uint40 start, uint32 period) external view returns (uint256) {
        Timing memory t;
        t.start = start;
        t.period = period;
        return _windowIndex(t);
    }

    function tokenURI(uint256) public pure override returns (string memory) {}

    function _factory() internal pure override returns (address) {}

    function _executor() internal pure override returns (address) {}
}
