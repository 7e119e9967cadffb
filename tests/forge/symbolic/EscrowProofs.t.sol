// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SymbolicTest} from "./utils/SymbolicTest.sol";

/// @notice Where a session's unspent escrow is kept (`_credit` / `_setAvailable` behind `createSession` and `fund`),
/// proved for every amount, in ETH and in an ERC-20, through the real manager: ETH in the 96 spare bits of the
/// session token's ownership word, an ERC-20 in a 128-bit field of its budget word. An escrow that would not fit is
/// refused with AmountTooLarge(the total it would be), and nothing moves; one that fits is held exactly, next to an
/// intact holder.
contract SymbolicEscrow is SymbolicTest {
    /// @notice Opening a root with any ETH budget: up to 2^96 - 1 it is escrowed exactly (the manager holds it, the
    /// session reads it, the owner still holds the token); above, it reverts AmountTooLarge(amount) and nothing is
    /// opened or kept.
    function check_escrow_rootEthBudgetFits96Bits() public {
        uint256 amount = _uint(128, "amount");
        SessionParams memory p = _withBudget(_longParams(agent), NATIVE, uint128(amount), 0, 0);

        (bool ok, bytes memory ret) = _try(owner, amount, abi.encodeCall(manager.createSession, (p)));

        if (amount > type(uint96).max) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(AmountTooLarge.selector, amount));
            assertEq(manager.sessionCount(), 0);
            assertEq(_held(NATIVE), 0);
        } else {
            assertTrue(ok);
            uint256 id = abi.decode(ret, (uint256));
            assertEq(_available(id, NATIVE), amount);
            assertEq(_held(NATIVE), amount);
            assertEq(abi.decode(_must(owner, abi.encodeCall(manager.ownerOf, (id))), (address)), owner);
        }
    }

    /// @notice Topping up a root, in ETH or the ERC-20, with any amount: while the total fits the token's escrow
    /// field (2^96 - 1 for ETH, 2^128 - 1 for an ERC-20) available grows by exactly the top-up and the manager holds
    /// exactly the session's escrow; past it the top-up reverts AmountTooLarge(budget + topUp), the total it would
    /// have been, and nothing moves. The holder is intact either way.
    function check_escrow_topUpFitsItsField() public {
        address token = _token("eth");
        uint256 budget = _escrowAmount(token, "budget");
        uint256 topUp = _uint(128, "topUp");
        // the owner can send it (halmos caps an ETH balance at 2^128; the owner was dealt that much)
        if (token == NATIVE) vm.assume(topUp < (1 << 128) - budget);
        uint256 id = _root(token, budget, 0, 0, 0);

        (bool ok, bytes memory ret) =
            _try(owner, token == NATIVE ? topUp : 0, abi.encodeCall(manager.fund, (id, token, topUp)));

        if (budget + topUp > _maxEscrow(token)) {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(AmountTooLarge.selector, budget + topUp));
            assertEq(_available(id, token), budget);
        } else {
            assertTrue(ok);
            assertEq(_available(id, token), budget + topUp);
        }
        assertEq(_held(token), _available(id, token));
        assertEq(abi.decode(_must(owner, abi.encodeCall(manager.ownerOf, (id))), (address)), owner);
    }

    /// @notice A transfer of a root's token carries its ETH escrow (they share a word): for any escrow and any
    /// spend before the transfer, the session reads the same after it, and closing it pays the new holder exactly
    /// that; the closed session then reads 0.
    function check_escrow_ethTravelsWithTheToken() public {
        uint256 budget = _escrowAmount(NATIVE, "budget");
        uint256 spend = _uint(96, "spend");
        vm.assume(spend <= budget);
        address holder = address(0x60000);
        uint256 id = _root(NATIVE, budget, 0, 0, 0);
        _must(agent, abi.encodeCall(manager.execute, (id, payee, spend, "")));
        _must(owner, abi.encodeCall(manager.transferFrom, (owner, holder, id)));
        assertEq(_available(id, NATIVE), budget - spend);
        uint256 before = holder.balance;

        _must(holder, abi.encodeCall(manager.complete, (id)));

        assertEq(holder.balance, before + budget - spend);
        assertEq(_available(id, NATIVE), 0);
        assertEq(_held(NATIVE), 0);
    }
}
