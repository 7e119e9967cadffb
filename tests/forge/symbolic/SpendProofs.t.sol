// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SymbolicTest} from "./utils/SymbolicTest.sol";

/// @notice The spend check (`_spendCheck` / `_charge` behind `execute` and `transferToken`), proved for every
/// amount, budget, cap, allowance, period and time, in ETH and in an ERC-20, through the real manager.
contract SymbolicSpend is SymbolicTest {
    /// @dev What a spend of `amount` must do, given the session's state before it: the error it must revert with,
    /// in the order the rules are promised (escrow, per-call cap, period allowance), or "" when it must pass.
    function _expected(
        uint256 id,
        address token,
        uint256 amount,
        uint256 available,
        uint256 perCallCap,
        uint256 allowance,
        uint256 spentInWindow
    ) internal pure returns (bytes memory) {
        if (amount > available) return abi.encodeWithSelector(BudgetExceeded.selector, id, token, amount, available);
        if (perCallCap != 0 && amount > perCallCap) {
            return abi.encodeWithSelector(PerCallCapExceeded.selector, id, token, amount, perCallCap);
        }
        if (allowance != 0) {
            uint256 left = allowance > spentInWindow ? allowance - spentInWindow : 0;
            if (amount > left) return abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, token, amount, left);
        }
        return "";
    }

    /// @notice Total: a spend never exceeds the unspent escrow (BudgetExceeded(id, token, amount, available)
    /// otherwise, nothing changed); when it passes, available drops by exactly the amount, exactly that leaves the
    /// manager, the payee gets it, and the manager holds exactly the session's escrow. An ERC-20's `spent` grows by
    /// exactly the amount; an ETH budget keeps no lifetime counter (its `spent` reads 0: what left is the drop of
    /// `available` and of the manager's balance, proved here).
    function check_spend_total() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 amount = _uint(256, "amount");
        vm.assume(amount != 0); // a zero ETH call spends nothing; a zero ERC-20 payment is refused (ZeroAmount)
        uint256 id = _root(token, budget, 0, 0, 0);
        uint256 paid = _balanceOf(token, payee);
        uint256 availableBefore = _available(id, token);
        uint256 heldBefore = _held(token);
        assertEq(availableBefore, budget);

        (bool ok, bytes memory ret) = _trySpend(agent, id, token, amount);

        if (amount > budget) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, id, token, amount, budget));
            assertEq(_available(id, token), availableBefore);
            assertEq(_held(token), heldBefore);
            assertEq(_balanceOf(token, payee), paid);
            assertEq(_spent(id, token), 0);
        } else {
            assertTrue(ok);
            assertEq(_available(id, token), availableBefore - amount);
            assertEq(_held(token), heldBefore - amount);
            assertEq(_balanceOf(token, payee), paid + amount);
            assertEq(_spent(id, token), token == NATIVE ? 0 : amount);
        }
        assertEq(_held(token), _available(id, token));
    }

    /// @notice ETH spends add up without a counter: two spends a1 then a2 (any amounts, any budget) leave exactly
    /// budget - a1 - a2 in the session and in the manager, and the payee exactly a1 + a2; the second one, past what
    /// is left, reverts BudgetExceeded(id, NATIVE, a2, budget - a1) and moves nothing.
    function check_spend_ethTotalOfTwoSpends() public {
        address token = NATIVE;
        uint256 budget = _escrowAmount(token, "budget");
        uint256 a1 = _uint(96, "a1");
        uint256 a2 = _uint(256, "a2");
        vm.assume(a1 != 0 && a1 <= budget);
        vm.assume(a2 != 0);
        uint256 id = _root(token, budget, 0, 0, 0);
        uint256 paid = _balanceOf(token, payee);
        (bool ok,) = _trySpend(agent, id, token, a1);
        assertTrue(ok);
        assertEq(_available(id, token), budget - a1);
        assertEq(_held(token), budget - a1);

        bytes memory ret;
        (ok, ret) = _trySpend(agent, id, token, a2);

        if (a2 > budget - a1) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, id, token, a2, budget - a1));
            assertEq(_available(id, token), budget - a1);
            assertEq(_balanceOf(token, payee), paid + a1);
        } else {
            assertTrue(ok);
            assertEq(_available(id, token), budget - a1 - a2);
            assertEq(_balanceOf(token, payee), paid + a1 + a2);
        }
        assertEq(_held(token), _available(id, token));
    }

    /// @notice `spent` is the exact sum of what was spent and never wraps: after a spend, a top-up and a second
    /// spend it is a1 + a2, and a second spend that would push it past 2^128 - 1 reverts AmountTooLarge(a1 + a2).
    /// @dev In the ERC-20 only: lifetime spending past 2^128 wei of ETH cannot exist (nor can halmos model it).
    function check_spend_spentNeverWraps() public {
        address token = address(usdc);
        uint256 budget = _uint(128, "budget");
        uint256 a1 = _uint(128, "a1");
        uint256 topUp = _uint(128, "topUp");
        uint256 a2 = _uint(128, "a2");
        vm.assume(a1 != 0 && a1 <= budget);
        // the top-up keeps the escrow within 128 bits (beyond that, fund reverts AmountTooLarge)
        vm.assume(budget - a1 + topUp <= type(uint128).max);
        vm.assume(a2 != 0 && a2 <= budget - a1 + topUp);
        uint256 id = _root(token, budget, 0, 0, 0);
        (bool ok,) = _trySpend(agent, id, token, a1);
        assertTrue(ok);
        _must(owner, abi.encodeCall(manager.fund, (id, token, topUp)));

        bytes memory ret;
        (ok, ret) = _trySpend(agent, id, token, a2);

        if (a1 + a2 > type(uint128).max) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(AmountTooLarge.selector, a1 + a2));
            assertEq(_spent(id, token), a1);
        } else {
            assertTrue(ok);
            assertEq(_spent(id, token), a1 + a2);
            assertEq(_available(id, token), budget - a1 + topUp - a2);
        }
        assertEq(_held(token), _available(id, token));
    }

    /// @notice Per-call cap: a spend above the cap reverts PerCallCapExceeded(id, token, amount, cap); at or below
    /// it (within the escrow) it passes; a cap of 0 means none.
    function check_spend_perCallCap() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 cap = _uint(128, "cap");
        uint256 amount = _uint(256, "amount");
        vm.assume(amount != 0);
        uint256 id = _root(token, budget, cap, 0, 0);

        (bool ok, bytes memory ret) = _trySpend(agent, id, token, amount);

        if (amount > budget) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, id, token, amount, budget));
        } else if (cap != 0 && amount > cap) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(PerCallCapExceeded.selector, id, token, amount, cap));
        } else {
            assertTrue(ok);
            assertEq(_available(id, token), budget - amount);
        }
    }

    /// @dev A windowed session after its first spend.
    struct Windowed {
        uint256 id;
        address token;
        uint256 budget;
        uint256 allowance;
        uint256 period;
        uint256 start; // of the first window (unix seconds)
        uint256 a1; // first spend
        uint256 w1; // its window index
    }

    /// @notice Period windows: two spends at any two times (the second not earlier), with any period. Within one
    /// window the sum spent never exceeds the allowance (the second spend gets PeriodAllowanceExceeded(id, token, a2,
    /// allowance - a1) past it); in a later window the count starts from zero. `spentInPeriod` reports the window's
    /// spending (it is tracked only under an allowance). An allowance of 0 means none; the escrow still bounds both
    /// spends.
    /// @dev "Same window" is decided with the manager's own index, (now - start) / period (SymbolicWindowIndex proves
    /// `_windowIndex` is exactly that). halmos keeps division uninterpreted here, so this proof holds for any index
    /// function: it is about the rollover, not the arithmetic of the index.
    function check_spend_periodWindow() public {
        Windowed memory s;
        s.token = _token("eth");
        s.budget = _escrowAmount(s.token, "budget");
        s.allowance = _uint(128, "allowance");
        s.period = _uint(32, "period");
        s.a1 = _uint(128, "a1");
        vm.assume(s.period != 0);
        vm.assume(s.a1 != 0);
        s.id = _root(s.token, s.budget, 0, s.allowance, uint32(s.period));
        // windows count from creation; the first spend at any time in the next 2^32 s, the second up to 2^32 s later,
        // both before the session's expiry (2^32 - 1, the latest a session can have: after it nothing spends)
        s.start = block.timestamp;
        vm.warp(s.start + _uint(32, "d1"));
        vm.assume(block.timestamp < type(uint32).max);
        s.w1 = (block.timestamp - s.start) / s.period;
        (bool ok, bytes memory ret) = _trySpend(agent, s.id, s.token, s.a1);
        bytes memory expected = _expected(s.id, s.token, s.a1, s.budget, 0, s.allowance, 0);
        assertEq(ok, expected.length == 0);
        if (!ok) assertEq(ret, expected);
        vm.assume(ok); // the second spend is the one under proof
        _secondSpend(s);
    }

    /// @dev The second spend of check_spend_periodWindow.
    function _secondSpend(Windowed memory s) internal {
        uint256 a2 = _uint(128, "a2");
        vm.assume(a2 != 0);
        vm.warp(block.timestamp + _uint(32, "d2"));
        vm.assume(block.timestamp < type(uint32).max);
        bool sameWindow = s.w1 == (block.timestamp - s.start) / s.period;
        bytes memory expected = _expected(s.id, s.token, a2, s.budget - s.a1, 0, s.allowance, sameWindow ? s.a1 : 0);

        (bool ok, bytes memory ret) = _trySpend(agent, s.id, s.token, a2);

        assertEq(ok, expected.length == 0);
        // the window's spending is tracked only under an allowance
        uint256 inWindow = s.allowance == 0 ? 0 : sameWindow ? s.a1 : 0;
        if (!ok) {
            assertEq(ret, expected);
        } else {
            inWindow += s.allowance == 0 ? 0 : a2;
            // never more than the allowance in one window
            assertLe(inWindow, s.allowance);
            assertEq(_available(s.id, s.token), s.budget - s.a1 - a2);
        }
        assertEq(manager.getBudget(s.id, s.token).spentInPeriod, inWindow);
    }

    /// @notice An allowance lowered to or below what the current window already spent leaves nothing: any further
    /// spend in that window reverts PeriodAllowanceExceeded(id, token, amount, 0). Lowered less (or raised), what is
    /// left is exactly the new allowance minus the window's spending.
    function check_spend_allowanceLoweredLeavesNothing() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 allowance = _uint(128, "allowance");
        uint256 lowered = _uint(128, "lowered");
        uint256 a1 = _uint(128, "a1");
        uint256 a2 = _uint(128, "a2");
        vm.assume(a1 != 0 && a1 <= budget && a1 <= allowance);
        vm.assume(a2 != 0 && a2 <= budget - a1);
        vm.assume(lowered != 0); // 0 would remove the allowance
        uint256 id = _root(token, budget, 0, allowance, 1 days);
        (bool ok,) = _trySpend(agent, id, token, a1);
        assertTrue(ok);
        _must(owner, abi.encodeCall(manager.updateLimits, (id, token, 0, uint128(lowered))));

        bytes memory ret;
        (ok, ret) = _trySpend(agent, id, token, a2);

        if (lowered <= a1) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, token, a2, 0));
        } else if (a2 > lowered - a1) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(PeriodAllowanceExceeded.selector, id, token, a2, lowered - a1));
        } else {
            assertTrue(ok);
            assertLe(a1 + a2, lowered);
        }
    }
}
