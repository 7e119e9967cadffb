// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {SVM} from "./utils/SymbolicTest.sol";
import {WindowIndexHarness} from "./utils/WindowIndexHarness.sol";

/// @notice The period-window index (`SessionStore._windowIndex`), for every start (40 bits, as stored), period
/// (32 bits, as stored) and time (any 256-bit block timestamp): it is 0 without a period or before the first window,
/// else exactly the EVM quotient (now - start) / period. That it is monotone in time and that window k is
/// [start + k * period, start + (k + 1) * period) are facts of that quotient (floor division), proved in integer
/// arithmetic in lemmas/window-index.smt2: bit-blasting solvers cannot prove non-linear division facts at word width.
contract SymbolicWindowIndex is Test {
    SVM internal constant svm = SVM(0xF3993A62377BCd56AE39D773740A5390411E8BC9);
    WindowIndexHarness internal harness;

    function setUp() public {
        harness = new WindowIndexHarness();
    }

    /// @notice The index is the function `idx` of lemmas/window-index.smt2: 0 with no period or before the start,
    /// (now - start) / period otherwise.
    function check_windowIndex_definition() public {
        uint256 start = svm.createUint(40, "start");
        uint256 period = svm.createUint(32, "period");
        uint256 at = svm.createUint(256, "now");
        vm.warp(at);
        uint256 index = harness.windowIndex(uint40(start), uint32(period));
        if (period == 0 || at < start) assertEq(index, 0);
        else assertEq(index, (at - start) / period);
    }
}
