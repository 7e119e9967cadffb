// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only guard (for tests/contracts/test_attacks.py) whose answer is scripted: allow, return
/// false, revert with no data, revert with a custom error, return no data at all, or try to reenter the
/// manager (it is called with STATICCALL, so any state change fails). Deliberately does not inherit
/// ISessionGuard: `checkCall` is not `view` here so the reentry mode compiles.
contract AttackGuard {
    enum Mode {
        Allow,
        ReturnFalse,
        RevertEmpty,
        RevertReason,
        ReturnNothing,
        Reenter
    }

    error Nope(uint256 id, address target);

    Mode public mode;
    address public victim;
    bytes public payload;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice For Mode.Reenter: the call replayed into `victim_`; its revert data is passed on.
    function arm(address victim_, bytes calldata payload_) external {
        victim = victim_;
        payload = payload_;
    }

    function checkCall(address, uint256 id, address, address target, address, uint256, bytes calldata)
        external
        returns (bool)
    {
        Mode m = mode;
        if (m == Mode.ReturnFalse) return false;
        if (m == Mode.RevertEmpty) {
            assembly {
                revert(0, 0)
            }
        }
        if (m == Mode.RevertReason) revert Nope(id, target);
        if (m == Mode.ReturnNothing) {
            assembly {
                return(0, 0)
            }
        }
        if (m == Mode.Reenter) {
            (bool ok, bytes memory ret) = victim.call(payload);
            if (!ok) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
        return true;
    }
}
