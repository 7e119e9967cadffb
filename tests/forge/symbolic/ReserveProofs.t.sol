// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SymbolicTest} from "./utils/SymbolicTest.sol";

/// @notice Reservation (`_reserve`) on `spawnChild` and on `fund(child, ...)`, proved for every amount, in ETH and
/// in an ERC-20, through the real manager: what the child gets comes out of the parent's unspent escrow, exactly,
/// and never more than that escrow. A reservation is not a spend: the parent's caps bind the child's spends instead,
/// when they happen (proved here for the per-call cap).
contract SymbolicReserve is SymbolicTest {
    address internal subAgent = address(0x50000);

    /// @notice Spawn: the parent's available drops by exactly what the child gets; parent + child is conserved
    /// and equals what the manager holds; a reservation is not spending (nothing leaves the manager, an ERC-20's
    /// `spent` stays 0, and the parent's per-call cap does not limit what it sets aside); above the parent's unspent
    /// escrow it reverts BudgetExceeded(parent, token, amount, available) and nothing moves.
    function check_reserve_spawn() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 cap = _uint(128, "cap");
        uint256 amount = _uint(128, "amount");
        uint256 parent = _root(token, budget, cap, 0, 0);
        uint256 childId = parent + 1; // ids are sequential

        (bool ok, bytes memory ret) =
            _try(agent, abi.encodeCall(manager.spawnChild, (parent, _childParams(subAgent, token, amount))));

        if (amount > budget) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, parent, token, amount, budget));
        } else {
            assertTrue(ok);
            assertEq(abi.decode(ret, (uint256)), childId);
            assertEq(_available(parent, token), budget - amount);
            assertEq(_available(childId, token), amount);
        }
        assertEq(_available(parent, token) + _available(childId, token), budget);
        assertEq(_held(token), budget);
        assertEq(_balanceOf(token, payee), 0);
        if (token != NATIVE) assertEq(_spent(parent, token), 0);
    }

    /// @notice Funding a child: `fund(child, token, amount)` by the parent's agent moves exactly `amount` from the
    /// parent's unspent escrow to the child's; parent + child is conserved; above the parent's unspent escrow it
    /// reverts BudgetExceeded(parent, token, amount, available) and nothing moves.
    function check_reserve_fundChild() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 first = _uint(128, "first");
        uint256 amount = _uint(256, "amount");
        vm.assume(first <= budget);
        uint256 parent = _root(token, budget, 0, 0, 0);
        uint256 childId = abi.decode(
            _must(agent, abi.encodeCall(manager.spawnChild, (parent, _childParams(subAgent, token, first)))), (uint256)
        );

        (bool ok, bytes memory ret) = _try(agent, abi.encodeCall(manager.fund, (childId, token, amount)));

        if (amount > budget - first) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, parent, token, amount, budget - first));
            assertEq(_available(childId, token), first);
        } else {
            assertTrue(ok);
            assertEq(_available(parent, token), budget - first - amount);
            assertEq(_available(childId, token), first + amount);
        }
        assertEq(_available(parent, token) + _available(childId, token), budget);
        assertEq(_held(token), budget);
        assertEq(_balanceOf(token, payee), 0);
        if (token != NATIVE) assertEq(_spent(parent, token), 0);
    }

    /// @notice A child's spend is charged to its parent's per-call cap when it happens: for every reservation,
    /// cap and spend, a spend of the child above the parent's cap reverts PerCallCapExceeded(parent, token, spend,
    /// cap) and moves nothing; within the cap (and the child's unspent escrow) it leaves exactly the child's escrow.
    function check_spend_childIsBoundByTheParentsPerCallCap() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 cap = _uint(128, "cap");
        uint256 reserved = _uint(128, "reserved");
        uint256 spend = _uint(128, "spend");
        vm.assume(reserved <= budget);
        uint256 parent = _root(token, budget, cap, 0, 0);
        uint256 childId = abi.decode(
            _must(agent, abi.encodeCall(manager.spawnChild, (parent, _childParams(subAgent, token, reserved)))), (uint256)
        );

        (bool ok, bytes memory ret) = _trySpend(subAgent, childId, token, spend);

        if (token != NATIVE && spend == 0) {
            // a zero ERC-20 payment is refused before any limit is looked at
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(ZeroAmount.selector));
        } else if (spend > reserved) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(BudgetExceeded.selector, childId, token, spend, reserved));
        } else if (cap != 0 && spend > cap) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(PerCallCapExceeded.selector, parent, token, spend, cap));
        } else {
            assertTrue(ok);
        }
        assertEq(_available(childId, token), ok ? reserved - spend : reserved);
        assertEq(_available(parent, token), budget - reserved);
        assertEq(_held(token), budget - (ok ? spend : 0));
    }
}
