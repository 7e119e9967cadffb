// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FeeToken} from "../../../contracts/test/FeeToken.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice fund: a root topped up from outside by a controller, a child out of its parent's unspent escrow.
contract FundingTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                                  ROOTS
    //////////////////////////////////////////////////////////////*/

    function test_fund_rootWithEthAddsToAvailableAndEscrow() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.expectEmit(address(manager));
        emit SessionFunded(id, NATIVE, owner, 2 ether);
        vm.prank(owner);
        manager.fund{value: 2 ether}(id, NATIVE, 2 ether);
        assertEq(manager.remaining(id, NATIVE), 3 ether);
        assertEq(address(manager).balance, 3 ether);
    }

    function test_fund_rootWithErc20AddsToAvailableAndEscrow() public {
        uint256 id = _rootWithToken(agent, address(usdc), 10e6);
        vm.expectEmit(address(manager));
        emit SessionFunded(id, address(usdc), owner, 5e6);
        vm.prank(owner);
        manager.fund(id, address(usdc), 5e6);
        assertEq(manager.remaining(id, address(usdc)), 15e6);
        assertEq(usdc.balanceOf(address(manager)), 15e6);
    }

    function test_fund_rootWithNewErc20AddsABudgetRow() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.fund(id, address(dai), 3e18);
        BudgetInfo[] memory b = manager.getSession(id).budgets;
        assertEq(b.length, 2);
        assertEq(b[1].token, address(dai));
        assertEq(b[1].available, 3e18);
        assertTrue(manager.isEscrowToken(address(dai)));
    }

    function test_fund_rootEthBudgetFromZero() public {
        uint256 id = _createRoot(_params(agent, DAY));
        vm.prank(owner);
        manager.fund{value: 1}(id, NATIVE, 1);
        assertEq(manager.remaining(id, NATIVE), 1);
    }

    function test_fund_rootWithZeroErc20MovesNothing() public {
        uint256 id = _createRoot(_params(agent, DAY));
        vm.expectEmit(address(manager));
        emit SessionFunded(id, address(dai), owner, 0);
        vm.prank(owner);
        manager.fund(id, address(dai), 0);
        assertEq(dai.balanceOf(address(manager)), 0);
        // the owner declared a row: the token is escrowed and listed, with nothing in it
        assertTrue(manager.isEscrowToken(address(dai)));
        assertEq(manager.getSession(id).budgets.length, 2);
        assertEq(manager.remaining(id, address(dai)), 0);
    }

    function test_fund_draftRootIsAllowed() public {
        uint256 id = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        manager.fund{value: 1 ether}(id, NATIVE, 1 ether);
        assertEq(manager.remaining(id, NATIVE), 1 ether);
    }

    function test_fund_rootByNewHolder() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.transferFrom(owner, payee, id);
        vm.deal(payee, 1 ether);
        vm.prank(payee);
        manager.fund{value: 1 ether}(id, NATIVE, 1 ether);
        assertEq(manager.remaining(id, NATIVE), 2 ether);
    }

    function test_fund_rootRevertsForPreviousHolder() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.transferFrom(owner, payee, id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, owner));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_rootRevertsForStranger() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.deal(stranger, 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, stranger));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_rootRevertsForItsAgent() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.deal(agent, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, agent));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_rootRevertsWhenValueDiffersFromAmount() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, 2 ether, 1 ether));
        manager.fund{value: 1 ether}(id, NATIVE, 2 ether);
    }

    function test_fund_rootWithErc20RevertsWithValue() public {
        uint256 id = _rootWithToken(agent, address(usdc), 1e6);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NoValueExpected.selector, 1));
        manager.fund{value: 1}(id, address(usdc), 1e6);
    }

    function test_fund_revokedRootReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        _revoke(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Revoked));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_expiredRootReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.warp(T0 + 30 * DAY);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Expired));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_unknownSessionReverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 9));
        manager.fund{value: 1}(9, NATIVE, 1);
    }

    function test_fund_rootRevertsWhenAmountExceedsUint128() public {
        uint256 id = _rootWithEth(agent, 1);
        uint256 amount = uint256(type(uint128).max) + 1;
        vm.deal(owner, amount);
        vm.prank(owner);
        // the error reports the total the escrow would hold, not the amount sent
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, amount + 1));
        manager.fund{value: amount}(id, NATIVE, amount);
    }

    function test_fund_rootEthRevertsWhenTheTotalWouldExceedUint96() public {
        // the ETH escrow lives in the token's 96 spare bits: 2^96 - 1 wei at most, in total
        uint256 id = _rootWithEth(agent, 1 ether);
        uint256 amount = uint256(type(uint96).max) - 1 ether + 1;
        vm.deal(owner, amount);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, uint256(type(uint96).max) + 1));
        manager.fund{value: amount}(id, NATIVE, amount);
        assertEq(manager.remaining(id, NATIVE), 1 ether);
        assertEq(address(manager).balance, 1 ether);
        // the holder is untouched by the failed top-up
        assertEq(manager.ownerOf(id), owner);
    }

    function test_fund_rootEthUpToExactlyUint96Fits() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        uint256 amount = uint256(type(uint96).max) - 1 ether;
        vm.deal(owner, amount);
        vm.prank(owner);
        manager.fund{value: amount}(id, NATIVE, amount);
        assertEq(manager.remaining(id, NATIVE), type(uint96).max);
        assertEq(address(manager).balance, type(uint96).max);
        // the escrow shares the ownership word with the holder: neither clobbers the other
        assertEq(manager.ownerOf(id), owner);
        assertEq(manager.getSession(id).parentId, 0);
        // and one more wei no longer fits
        vm.deal(owner, 1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, uint256(type(uint96).max) + 1));
        manager.fund{value: 1}(id, NATIVE, 1);
    }

    function test_fund_rootRevertsWhenAvailableWouldExceedUint128() public {
        usdc.mint(owner, uint256(type(uint128).max));
        uint256 id = _rootWithToken(agent, address(usdc), type(uint128).max);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, uint256(type(uint128).max) + 1));
        manager.fund(id, address(usdc), 1);
    }

    function test_fund_rootWithFeeTokenCreditsWhatArrived() public {
        FeeToken fee = _feeToken(500);
        uint256 id = _createRoot(_params(agent, DAY));
        vm.expectEmit(address(manager));
        emit SessionFunded(id, address(fee), owner, 950);
        vm.prank(owner);
        manager.fund(id, address(fee), 1_000);
        assertEq(manager.remaining(id, address(fee)), 950);
    }

    function test_fund_rootRevertsWhenNothingArrives() public {
        FeeToken fee = _feeToken(10_000);
        uint256 id = _createRoot(_params(agent, DAY));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(BalanceMismatch.selector, address(fee), 1_000, 0));
        manager.fund(id, address(fee), 1_000);
    }

    function testFuzz_fund_rootAddsExactlyTheAmount(uint128 initial, uint128 amount) public {
        initial = uint128(bound(initial, 0, 1e24));
        amount = uint128(bound(amount, 0, 1e24));
        vm.deal(owner, 2e24);
        uint256 id = _rootWithEth(agent, initial);
        vm.prank(owner);
        manager.fund{value: amount}(id, NATIVE, amount);
        assertEq(manager.remaining(id, NATIVE), uint256(initial) + amount);
        assertEq(address(manager).balance, uint256(initial) + amount);
    }

    /*//////////////////////////////////////////////////////////////
                                CHILDREN
    //////////////////////////////////////////////////////////////*/

    function test_fund_childByParentAgentMovesEthFromParent() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.expectEmit(address(manager));
        emit SessionFunded(child, NATIVE, address(0), 2 ether);
        vm.prank(agent);
        manager.fund(child, NATIVE, 2 ether);
        assertEq(manager.remaining(root, NATIVE), 7 ether);
        assertEq(manager.remaining(child, NATIVE), 3 ether);
        // nothing moved in or out of the manager
        assertEq(address(manager).balance, 10 ether);
    }

    function test_fund_childByRootOwnerMovesErc20FromParent() public {
        uint256 root = _rootWithToken(agent, address(usdc), 100e6);
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), address(usdc), 10e6, 0, 0));
        vm.prank(owner);
        manager.fund(child, address(usdc), 30e6);
        assertEq(manager.remaining(root, address(usdc)), 60e6);
        assertEq(manager.remaining(child, address(usdc)), 40e6);
        assertEq(usdc.balanceOf(address(manager)), 100e6);
    }

    function test_fund_childWithAParentTokenItDidNotHold() public {
        uint256 root =
            _createRoot(_withBudget(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), address(dai), 5e18, 0, 0));
        uint256 child = _childWithEth(root, subAgent, 1);
        vm.prank(agent);
        manager.fund(child, address(dai), 2e18);
        BudgetInfo[] memory b = manager.getSession(child).budgets;
        assertEq(b.length, 2);
        assertEq(b[1].token, address(dai));
        assertEq(b[1].available, 2e18);
    }

    function test_fund_childUpToParentAvailableExactly() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        manager.fund(child, NATIVE, 4 ether);
        assertEq(manager.remaining(root, NATIVE), 0);
        assertEq(manager.remaining(child, NATIVE), 5 ether);
    }

    function test_fund_childBeyondParentAvailableReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, root, NATIVE, 4 ether + 1, 4 ether));
        manager.fund(child, NATIVE, 4 ether + 1);
    }

    function test_fund_childWithATokenTheParentLacksReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, root, address(dai)));
        manager.fund(child, address(dai), 1);
    }

    /// @notice Funding a child is a reservation, not a spend: the parent's cap binds when the child spends.
    function test_fund_childIsAReservationNotASpend() public {
        uint256 root = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 5 ether, 1 ether, 0));
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        manager.fund(child, NATIVE, 2 ether);
        assertEq(manager.remaining(child, NATIVE), 3 ether);
        // out of the parent's escrow, inside the manager: nothing left it
        assertEq(manager.remaining(root, NATIVE), 2 ether);
        assertEq(address(manager).balance, 5 ether);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, root, NATIVE, 2 ether, 1 ether));
        manager.execute(child, address(target), 2 ether, "");
    }

    /// @notice Promise (F6): only the manager owner brings a new token into the escrowed set; a root's other
    /// holder tops up only in tokens already escrowed.
    function test_fund_rootByAHolderWithATokenNobodyEscrowsReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.transferFrom(owner, stranger, id);
        dai.mint(stranger, 10e18);
        vm.prank(stranger);
        dai.approve(address(manager), type(uint256).max);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TokenNotEscrowed.selector, id, address(dai)));
        manager.fund(id, address(dai), 1);
        assertFalse(manager.isEscrowToken(address(dai)));
        // once the owner escrowed it, the holder may top up with it
        _rootWithToken(agent, address(dai), 1e18);
        vm.prank(stranger);
        manager.fund(id, address(dai), 1);
        assertEq(manager.remaining(id, address(dai)), 1);
    }

    function test_fund_childWithEthValueReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.deal(agent, 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoValueExpected.selector, 1 ether));
        manager.fund{value: 1 ether}(child, NATIVE, 1 ether);
    }

    function test_fund_childByStrangerReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, stranger));
        manager.fund(child, NATIVE, 1);
    }

    function test_fund_childByItsOwnAgentReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, subAgent));
        manager.fund(child, NATIVE, 1);
    }

    function test_fund_childByItsOwnHolderAloneReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        manager.transferFrom(agent, payee, child);
        vm.prank(payee);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, payee));
        manager.fund(child, NATIVE, 1);
    }

    /// @dev `fund` obeys pause and pause-all: funding a child needs a parent that can act now, like a spawn.
    function test_fund_childByTheParentAgentRevertsWhileTheParentCannotAct() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        _pause(root);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
        manager.fund(child, NATIVE, 2 ether);
        vm.prank(owner);
        manager.resume(root);
        vm.prank(owner);
        manager.pauseAll();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
        manager.fund(child, NATIVE, 2 ether);
    }

    function test_fund_obeysPause_childRevertsWhileAnAncestorIsPausedOrTheParentIdledOut() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _spawn(
            agent, root, _withIdle(_withBudget(_childParams(root, subAgent), NATIVE, 2 ether, 0, 0), 1 hours)
        );
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        // an ancestor of the parent paused
        _pause(root);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, child, Status.Paused));
        manager.fund(grandchild, NATIVE, 1);
        vm.prank(owner);
        manager.resume(root);
        // the parent idled out: the grandchild ended with it
        vm.warp(block.timestamp + 1 hours);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, grandchild, Status.Revoked));
        manager.fund(grandchild, NATIVE, 1);
    }

    function test_fund_obeysPause_pausedChildReverts() public {
        uint256 root = _rootWithEth(agent, 5 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        _pause(child);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, child, Status.Paused));
        manager.fund(child, NATIVE, 1 ether);
        assertEq(manager.remaining(root, NATIVE), 4 ether);
    }

    function test_fund_obeysPause_rootRevertsWhilePausedOrDuringPauseAll() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        _pause(root);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
        manager.fund{value: 1 ether}(root, NATIVE, 1 ether);
        vm.prank(owner);
        manager.resume(root);
        vm.prank(owner);
        manager.pauseAll();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
        manager.fund(root, address(usdc), 1e6);
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, draft, Status.Paused));
        manager.fund{value: 1}(draft, NATIVE, 1);
        vm.prank(owner);
        manager.unpauseAll();
        vm.prank(owner);
        manager.fund{value: 1 ether}(root, NATIVE, 1 ether);
        assertEq(manager.remaining(root, NATIVE), 2 ether);
    }

    function test_fund_countsAsACall_ofTheParentWithinItsCallLimit() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 5 ether, 0, 0);
        uint256 root = _createRoot(_withPeriod(p, 1 days, 2));
        // the spawn itself is not a call
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.prank(agent);
        manager.fund(child, NATIVE, 1);
        // so is a controller's funding: it is the parent's money moving
        vm.prank(owner);
        manager.fund(child, NATIVE, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 2));
        manager.fund(child, NATIVE, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 2));
        manager.execute(root, payee, 1, "");
        // a new window resets the count
        vm.warp(block.timestamp + DAY);
        vm.prank(agent);
        manager.fund(child, NATIVE, 1);
    }

    function test_fund_countsAsACall_ofEveryAncestorWithACallLimit() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 5 ether, 0, 0);
        uint256 root = _createRoot(_withPeriod(p, 1 days, 1));
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        vm.prank(subAgent);
        manager.fund(grandchild, NATIVE, 1);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, root, 1));
        manager.fund(grandchild, NATIVE, 1);
    }

    function test_fund_countsAsActivity_restartsTheParentsIdleClock() public {
        uint256 root = _createRoot(_withIdle(_withBudget(_params(agent, 30 * DAY), NATIVE, 5 ether, 0, 0), 1 hours));
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        vm.warp(block.timestamp + 50 minutes);
        vm.prank(agent);
        manager.fund(child, NATIVE, 1);
        vm.warp(block.timestamp + 50 minutes);
        // still active 100 minutes after the spawn: the funding was activity
        assertEq(uint8(manager.statusOf(root)), uint8(Status.Active));
        _pay(root, payee, 1);
    }

    function testFuzz_fund_childMovesExactlyFromParent(uint128 parentAmount, uint128 amount) public {
        parentAmount = uint128(bound(parentAmount, 1, 1e24));
        amount = uint128(bound(amount, 0, parentAmount - 1));
        uint256 root = _rootWithEth(agent, parentAmount);
        uint256 child = _childWithEth(root, subAgent, 1);
        vm.prank(agent);
        manager.fund(child, NATIVE, amount);
        assertEq(manager.remaining(root, NATIVE), parentAmount - 1 - amount);
        assertEq(manager.remaining(child, NATIVE), uint256(amount) + 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _feeToken(uint256 feeBps) internal returns (FeeToken fee) {
        fee = new FeeToken();
        fee.mint(owner, 1e24);
        fee.setFeeBps(feeBps);
        vm.prank(owner);
        fee.approve(address(manager), type(uint256).max);
    }
}
