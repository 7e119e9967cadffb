// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test-only contract agent (for tests/contracts/test_attacks.py). `act` makes it call anything (e.g.
/// the manager, as a session's agent); when it is itself called back (as an execute or swap target, or sent
/// ETH) it runs its scripted steps in order, once per arming, bubbling up the first revert.
contract AttackAgent {
    struct Step {
        address target;
        bytes data;
    }

    Step[] internal _steps;
    bool public armed;
    uint256 public callbacks;

    /// @notice Scripts the callback: `targets[i]` is called with `datas[i]`.
    function arm(address[] calldata targets, bytes[] calldata datas) external {
        delete _steps;
        for (uint256 i; i < targets.length; ++i) {
            _steps.push(Step(targets[i], datas[i]));
        }
        armed = true;
    }

    /// @notice Calls `target` with `data` and `value`, bubbling up a revert.
    function act(address target, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) _bubble(ret);
        return ret;
    }

    receive() external payable {
        _run();
    }

    fallback() external payable {
        _run();
    }

    function _run() internal {
        callbacks += 1;
        if (!armed) return;
        armed = false;
        for (uint256 i; i < _steps.length; ++i) {
            (bool ok, bytes memory ret) = _steps[i].target.call(_steps[i].data);
            if (!ok) _bubble(ret);
        }
    }

    function _bubble(bytes memory ret) internal pure {
        assembly {
            revert(add(ret, 0x20), mload(ret))
        }
    }
}
