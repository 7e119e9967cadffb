// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice The limits a session's own calls meet: per-call cap, period allowance (fixed windows), call limit per
/// window (counted by every ancestor that sets one), idle timeout.
contract ExecuteLimitsTest is UnitBase {
    uint32 internal constant PERIOD = 1 days;

    /*//////////////////////////////////////////////////////////////
                               PER-CALL CAP
    //////////////////////////////////////////////////////////////*/

    function test_execute_atThePerCallCapSucceeds() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        _pay(id, payee, 1 ether);
        _pay(id, payee, 1 ether);
        assertEq(payee.balance, 2 ether);
    }

    function test_execute_abovePerCallCapReverts() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, id, NATIVE, 1 ether + 1, 1 ether));
        manager.execute(id, payee, 1 ether + 1, "");
    }

    function test_execute_budgetIsCheckedBeforeThePerCallCap() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0.5 ether, 0));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 2 ether, 1 ether));
        manager.execute(id, payee, 2 ether, "");
    }

    function testFuzz_execute_perCallCapBindsEveryCall(uint128 cap, uint128 value) public {
        cap = uint128(bound(cap, 1, 10 ether));
        value = uint128(bound(value, 1, 10 ether));
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, cap, 0));
        vm.prank(agent);
        if (value > cap) {
            vm.expectRevert(
                abi.encodeWithSelector(PerCallCapExceeded.selector, id, NATIVE, uint256(value), uint256(cap))
            );
        }
        manager.execute(id, payee, value, "");
        if (value <= cap) assertEq(payee.balance, value);
    }

    function test_executeBatch_perCallCapAppliesToEachCall() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        Call[] memory calls = new Call[](3);
        calls[0] = Call(payee, 1 ether, "");
        calls[1] = Call(payee, 1 ether, "");
        calls[2] = Call(payee, 2 ether, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, id, NATIVE, 2 ether, 1 ether));
        manager.executeBatch(id, calls);
    }

    /*//////////////////////////////////////////////////////////////
                            PERIOD ALLOWANCE
    //////////////////////////////////////////////////////////////*/

    function test_execute_upToThePeriodAllowanceSucceeds() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 1 ether);
        _pay(id, payee, 2 ether);
        assertEq(manager.getBudget(id, NATIVE).spentInPeriod, 3 ether);
    }

    function test_execute_beyondThePeriodAllowanceRevertsWithWhatIsLeft() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 2 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, NATIVE, 1.5 ether, 1 ether));
        manager.execute(id, payee, 1.5 ether, "");
    }

    function test_execute_periodAllowanceHoldsUntilTheLastSecondOfTheWindow() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 3 ether);
        vm.warp(T0 + PERIOD - 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, NATIVE, 1, 0));
        manager.execute(id, payee, 1, "");
    }

    function test_execute_periodAllowanceResetsAtTheExactBoundary() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 3 ether);
        vm.warp(T0 + PERIOD);
        _pay(id, payee, 3 ether);
        assertEq(payee.balance, 6 ether);
    }

    function test_execute_periodWindowsAreFixedNotSliding() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        vm.warp(T0 + PERIOD - 1);
        _pay(id, payee, 3 ether);
        // one second later a new window starts, with the whole allowance
        vm.warp(T0 + PERIOD);
        _pay(id, payee, 3 ether);
        assertEq(payee.balance, 6 ether);
    }

    function test_execute_periodAllowanceIsWholeAfterSkippedWindows() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 3 ether);
        vm.warp(T0 + 5 * PERIOD + 7);
        _pay(id, payee, 3 ether);
        assertEq(manager.getBudget(id, NATIVE).spentInPeriod, 3 ether);
    }

    function test_execute_totalBudgetStillBindsAcrossPeriods() public {
        uint256 id = _allowanceRoot(4 ether, 3 ether);
        _pay(id, payee, 3 ether);
        vm.warp(T0 + PERIOD);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 2 ether, 1 ether));
        manager.execute(id, payee, 2 ether, "");
    }

    function test_spentInPeriodResetsAtTheBoundaryWhileTheEscrowKeepsFalling() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 2 ether);
        vm.warp(T0 + PERIOD);
        BudgetInfo memory b = manager.getBudget(id, NATIVE);
        assertEq(b.spentInPeriod, 0);
        // the window resets, what left does not come back (ETH keeps no lifetime counter: available is the record)
        assertEq(b.available, 8 ether);
        assertEq(payee.balance, 2 ether);
        _pay(id, payee, 1 ether);
        b = manager.getBudget(id, NATIVE);
        assertEq(b.spentInPeriod, 1 ether);
        assertEq(b.available, 7 ether);
        assertEq(payee.balance, 3 ether);
        assertEq(address(manager).balance, 7 ether);
    }

    function test_spentInPeriodResetsAtTheBoundaryWhileErc20SpentKeepsGrowing() public {
        SessionParams memory p = _withPeriod(_params(agent, 30 * DAY), PERIOD, 0);
        uint256 id = _createRoot(_withBudget(p, address(usdc), 10e6, 0, 3e6));
        vm.prank(agent);
        manager.transferToken(id, address(usdc), payee, 2e6);
        vm.warp(T0 + PERIOD);
        BudgetInfo memory b = manager.getBudget(id, address(usdc));
        assertEq(b.spentInPeriod, 0);
        assertEq(b.spent, 2e6);
        vm.prank(agent);
        manager.transferToken(id, address(usdc), payee, 1e6);
        b = manager.getBudget(id, address(usdc));
        assertEq(b.spentInPeriod, 1e6);
        assertEq(b.spent, 3e6);
        assertEq(b.available, 7e6);
        assertEq(usdc.balanceOf(payee), 3e6);
    }

    function test_execute_allowanceLoweredBelowWhatTheWindowSpentLeavesNothing() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        _pay(id, payee, 2 ether);
        vm.prank(owner);
        manager.updateLimits(id, NATIVE, 0, 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, NATIVE, 1, 0));
        manager.execute(id, payee, 1, "");
    }

    function test_executeBatch_periodAllowanceIsCumulative() public {
        uint256 id = _allowanceRoot(10 ether, 3 ether);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(payee, 2 ether, "");
        calls[1] = Call(payee, 2 ether, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, NATIVE, 2 ether, 1 ether));
        manager.executeBatch(id, calls);
    }

    function testFuzz_execute_periodAllowanceBindsEachWindow(uint128 first, uint128 second, uint32 elapsed) public {
        uint256 id = _allowanceRoot(100 ether, 3 ether);
        first = uint128(bound(first, 0, 3 ether));
        second = uint128(bound(second, 1, 3 ether));
        elapsed = uint32(bound(elapsed, 0, 3 * PERIOD));
        _pay(id, payee, first);
        vm.warp(T0 + elapsed);
        uint256 left = elapsed < PERIOD ? 3 ether - first : 3 ether;
        vm.prank(agent);
        if (second > left) {
            vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, NATIVE, second, left));
        }
        manager.execute(id, payee, second, "");
    }

    /*//////////////////////////////////////////////////////////////
                               CALL LIMIT
    //////////////////////////////////////////////////////////////*/

    function test_execute_beyondTheCallLimitReverts() public {
        uint256 id = _callLimitedRoot(agent, 2);
        _pay(id, payee, 0);
        _pay(id, payee, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, id, 2));
        manager.execute(id, payee, 0, "");
    }

    function test_callLimitHoldsUntilTheLastSecondOfTheWindow() public {
        uint256 id = _callLimitedRoot(agent, 1);
        _pay(id, payee, 0);
        vm.warp(T0 + PERIOD - 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, id, 1));
        manager.execute(id, payee, 0, "");
    }

    function test_callLimitResetsAtTheExactBoundary() public {
        uint256 id = _callLimitedRoot(agent, 1);
        _pay(id, payee, 0);
        vm.warp(T0 + PERIOD);
        _pay(id, payee, 0);
        assertEq(manager.getSession(id).callsInPeriod, 1);
    }

    function test_callsInPeriodViewCountsAndResets() public {
        uint256 id = _callLimitedRoot(agent, 5);
        _pay(id, payee, 0);
        _pay(id, payee, 0);
        assertEq(manager.getSession(id).callsInPeriod, 2);
        vm.warp(T0 + PERIOD);
        assertEq(manager.getSession(id).callsInPeriod, 0);
    }

    function test_executeBatch_countsEveryCallAgainstTheLimit() public {
        uint256 id = _callLimitedRoot(agent, 2);
        Call[] memory calls = new Call[](3);
        for (uint256 i; i < 3; ++i) {
            calls[i] = Call(payee, 0, "");
        }
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, id, 2));
        manager.executeBatch(id, calls);
        vm.prank(agent);
        manager.executeBatch(id, _twoCalls());
        assertEq(manager.getSession(id).callsInPeriod, 2);
    }

    function test_execute_failedCallDoesNotUseUpTheCallLimit() public {
        uint256 id = _callLimitedRoot(agent, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallFailed.selector, id, address(this), ""));
        manager.execute(id, address(this), 0, "");
        _pay(id, payee, 0);
        assertEq(manager.getSession(id).callsInPeriod, 1);
    }

    function test_execute_childCallsCountAgainstTheParentsCallLimit() public {
        uint256 root = _callLimitedRoot(agent, 2);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        _pay(child, payee, 0);
        _pay(root, payee, 0);
        assertEq(manager.getSession(root).callsInPeriod, 2);
        // the root's limit is used up for the whole subtree
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 2));
        manager.execute(child, payee, 0, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 2));
        manager.execute(root, payee, 0, "");
        // until the root's next window
        vm.warp(T0 + PERIOD);
        _pay(child, payee, 0);
        assertEq(manager.getSession(root).callsInPeriod, 1);
    }

    function test_execute_grandchildCallsCountAtEveryLimitingAncestor() public {
        uint256 root = _callLimitedRoot(agent, 3);
        // a middle session with a period but no call limit of its own, and one without any timing
        uint256 timed = _spawn(agent, root, _withPeriod(_childParams(root, subAgent), PERIOD, 0));
        uint256 plain = _spawn(subAgent, timed, _childParams(timed, subSubAgent));
        uint256 leaf = _spawn(subSubAgent, plain, _childParams(plain, payee));
        _pay(leaf, stranger, 0);
        _pay(leaf, stranger, 0);
        assertEq(manager.getSession(root).callsInPeriod, 2);
        _pay(leaf, stranger, 0);
        vm.prank(payee);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 3));
        manager.execute(leaf, stranger, 0, "");
    }

    function test_executeBatch_childBatchCountsEveryCallAtTheParent() public {
        uint256 root = _callLimitedRoot(agent, 2);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        vm.prank(subAgent);
        manager.executeBatch(child, _twoCalls());
        assertEq(manager.getSession(root).callsInPeriod, 2);
    }

    /*//////////////////////////////////////////////////////////////
                              IDLE TIMEOUT
    //////////////////////////////////////////////////////////////*/

    function test_execute_oneSecondBeforeTheIdleTimeoutSucceeds() public {
        uint256 id = _idleRoot(100);
        vm.warp(T0 + 99);
        _pay(id, payee, 1);
        assertEq(manager.getSession(id).lastActive, T0 + 99);
    }

    function test_statusIsExpiredExactlyAtLastActivePlusMaxIdle() public {
        uint256 id = _idleRoot(100);
        vm.warp(T0 + 99);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
        vm.warp(T0 + 100);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Expired));
    }

    function test_execute_exactlyAtTheIdleTimeoutRevertsExpired() public {
        uint256 id = _idleRoot(100);
        vm.warp(T0 + 100);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Expired));
        manager.execute(id, payee, 1, "");
    }

    function test_execute_activityRefreshesTheIdleTimeout() public {
        uint256 id = _idleRoot(100);
        vm.warp(T0 + 90);
        _pay(id, payee, 1);
        vm.warp(T0 + 189);
        _pay(id, payee, 1);
        assertEq(payee.balance, 2);
        vm.warp(T0 + 289);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Expired));
    }

    function test_execute_childIdleTimeoutDoesNotTouchTheParent() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _spawn(agent, root, _withIdle(_childParams(root, subAgent), 50));
        vm.warp(T0 + 50);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Expired));
        assertEq(uint8(manager.statusOf(root)), uint8(Status.Active));
        _pay(root, payee, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _allowanceRoot(uint128 budget, uint128 allowance) internal returns (uint256) {
        SessionParams memory p = _withPeriod(_params(agent, 30 * DAY), PERIOD, 0);
        return _createRoot(_withBudget(p, NATIVE, budget, 0, allowance));
    }

    function _callLimitedRoot(address agent_, uint16 maxCalls) internal returns (uint256) {
        return _createRoot(_withPeriod(_params(agent_, 30 * DAY), PERIOD, maxCalls));
    }

    function _idleRoot(uint32 maxIdle) internal returns (uint256) {
        return _createRoot(_withIdle(_withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0), maxIdle));
    }

    function _twoCalls() internal view returns (Call[] memory calls) {
        calls = new Call[](2);
        calls[0] = Call(payee, 0, "");
        calls[1] = Call(payee, 0, "");
    }
}
