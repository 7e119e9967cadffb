// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {ReentrantAttacker} from "../../../contracts/test/ReentrantAttacker.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice execute / executeBatch: what a call moves and emits, the allowlist, forbidden targets, who may act
/// and when. Spending limits over time are in ExecuteLimits.t.sol.
contract ExecuteTest is UnitBase {
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = _rootWithEth(agent, 10 ether);
    }

    /*//////////////////////////////////////////////////////////////
                               execute
    //////////////////////////////////////////////////////////////*/

    function test_execute_sendsExactlyTheValueFromTheManager() public {
        vm.expectEmit(address(manager));
        emit Executed(id, payee, 1.5 ether, NO_SELECTOR);
        _pay(id, payee, 1.5 ether);
        assertEq(payee.balance, 1.5 ether);
        assertEq(address(manager).balance, 8.5 ether);
        BudgetInfo memory b = manager.getBudget(id, NATIVE);
        assertEq(b.available, 8.5 ether);
        // an ETH budget keeps no lifetime counter on chain (the Executed event above carries the spend)
        assertEq(b.spent, 0);
    }

    function test_execute_plainTransferComesFromTheManager() public {
        uint256 agentBefore = agent.balance;
        _pay(id, address(target), 1 ether);
        assertEq(target.received(), 1 ether);
        assertEq(agent.balance, agentBefore);
    }

    function test_execute_withCalldataCallsFromTheExecutorAndReturnsTheResult() public {
        vm.expectEmit(address(target));
        emit Target.Pinged(manager.executor(), 0.25 ether);
        vm.expectEmit(address(manager));
        emit Executed(id, address(target), 0.25 ether, target.ping.selector);
        vm.prank(agent);
        bytes memory result = manager.execute(id, address(target), 0.25 ether, abi.encodeCall(Target.ping, ()));
        assertEq(abi.decode(result, (uint256)), 1);
        assertEq(target.lastCaller(), manager.executor());
        assertEq(target.received(), 0.25 ether);
        assertEq(manager.remaining(id, NATIVE), 9.75 ether);
        // the executor keeps nothing
        assertEq(manager.executor().balance, 0);
    }

    function test_execute_withoutValueSpendsNothing() public {
        vm.prank(agent);
        manager.execute(id, address(target), 0, abi.encodeCall(Target.ping, ()));
        assertEq(manager.remaining(id, NATIVE), 10 ether);
        assertEq(address(manager).balance, 10 ether);
        assertEq(manager.getBudget(id, NATIVE).spent, 0);
        assertEq(target.pings(), 1);
    }

    function test_execute_wholeBudgetSucceeds() public {
        _pay(id, payee, 10 ether);
        assertEq(manager.remaining(id, NATIVE), 0);
    }

    function test_execute_beyondBudgetReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 10 ether + 1, 10 ether));
        manager.execute(id, payee, 10 ether + 1, "");
    }

    function test_execute_beyondWhatIsLeftReverts() public {
        _pay(id, payee, 7 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 4 ether, 3 ether));
        manager.execute(id, payee, 4 ether, "");
    }

    function testFuzz_execute_chargesExactlyTheValue(uint128 budget, uint128 value) public {
        budget = uint128(bound(budget, 0, 1e23));
        value = uint128(bound(value, 0, 1e23));
        uint256 sid = _rootWithEth(agent, budget);
        uint256 managerBefore = address(manager).balance;
        if (value > budget) {
            vm.expectRevert(
                abi.encodeWithSelector(BudgetExceeded.selector, sid, NATIVE, uint256(value), uint256(budget))
            );
        } else {
            vm.expectEmit(address(manager));
            emit Executed(sid, payee, value, NO_SELECTOR);
        }
        vm.prank(agent);
        manager.execute(sid, payee, value, "");
        if (value <= budget) {
            assertEq(payee.balance, value);
            // exactly the value left the manager and the session's escrow, nothing more
            assertEq(address(manager).balance, managerBefore - value);
            assertEq(manager.remaining(sid, NATIVE), budget - value);
        } else {
            assertEq(payee.balance, 0);
            assertEq(address(manager).balance, managerBefore);
            assertEq(manager.remaining(sid, NATIVE), budget);
        }
    }

    function test_execute_revertsForNonAgent() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, owner));
        manager.execute(id, payee, 1, "");
    }

    function test_execute_revertsForUnknownSession() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 99));
        manager.execute(99, payee, 1, "");
    }

    /*//////////////////////////////////////////////////////////////
                               ALLOWLIST
    //////////////////////////////////////////////////////////////*/

    function test_execute_withAnExactSelectorAllowed() public {
        uint256 sid = _narrowRoot(address(target), target.ping.selector);
        vm.prank(agent);
        manager.execute(sid, address(target), 0, abi.encodeCall(Target.ping, ()));
        assertEq(target.pings(), 1);
    }

    function test_execute_revertsForAnotherSelectorOfAnAllowedTarget() public {
        uint256 sid = _narrowRoot(address(target), target.ping.selector);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(target), target.other.selector));
        manager.execute(sid, address(target), 0, abi.encodeCall(Target.other, ()));
    }

    function test_execute_revertsForAPlainTransferToASelectorOnlyTarget() public {
        uint256 sid = _narrowRoot(address(target), target.ping.selector);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(target), NO_SELECTOR));
        manager.execute(sid, address(target), 1, "");
    }

    function test_execute_anySelectorAllowsEveryCallToTheTarget() public {
        uint256 sid = _narrowRoot(address(target), ANY);
        vm.startPrank(agent);
        manager.execute(sid, address(target), 0, abi.encodeCall(Target.ping, ()));
        manager.execute(sid, address(target), 0, abi.encodeCall(Target.other, ()));
        manager.execute(sid, address(target), 1, "");
        vm.stopPrank();
        assertEq(target.pings(), 1);
        assertEq(target.received(), 1);
    }

    function test_execute_anySelectorOfOneTargetDoesNotAllowAnother() public {
        uint256 sid = _narrowRoot(address(target), ANY);
        Target other = new Target();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(other), target.ping.selector));
        manager.execute(sid, address(other), 0, abi.encodeCall(Target.ping, ()));
    }

    function test_execute_revertsForAPlainTransferToAnUnlistedRecipient() public {
        uint256 sid = _narrowRoot(address(target), ANY);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.execute(sid, payee, 1, "");
    }

    function test_execute_plainTransferToAZeroSelectorRecipient() public {
        uint256 sid = _narrowRoot(payee, NO_SELECTOR);
        _pay(sid, payee, 1 ether);
        assertEq(payee.balance, 1 ether);
    }

    function test_execute_zeroSelectorPermissionDoesNotAllowCalls() public {
        uint256 sid = _narrowRoot(address(target), NO_SELECTOR);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(target), target.ping.selector));
        manager.execute(sid, address(target), 0, abi.encodeCall(Target.ping, ()));
    }

    /// @dev Selector 0 means empty calldata, and only that: 1 to 3 bytes are refused with their length.
    function test_execute_selectorZeroMeansEmptyCalldata_stubsRevertCalldataTooShort() public {
        uint256 sid = _narrowRoot(payee, NO_SELECTOR);
        for (uint256 len = 1; len <= 3; ++len) {
            vm.prank(agent);
            vm.expectRevert(abi.encodeWithSelector(CalldataTooShort.selector, sid, len));
            manager.execute(sid, payee, 1, new bytes(len));
        }
        // even with every target allowed
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CalldataTooShort.selector, id, 2));
        manager.execute(id, payee, 1, hex"0000");
        assertEq(payee.balance, 0);
    }

    /// @dev Calldata starting with four zero bytes is a call of selector 0x00000000: the plain-transfer entry
    /// does not cover it.
    function test_execute_selectorZeroMeansEmptyCalldata_zeroSelectorWithDataIsNotAPlainTransfer() public {
        uint256 sid = _narrowRoot(payee, NO_SELECTOR);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.execute(sid, payee, 1, hex"00000000");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.execute(sid, payee, 1, hex"00000000deadbeef");
        assertEq(payee.balance, 0);
    }

    function test_execute_selectorZeroMeansEmptyCalldata_zeroSelectorWithDataNeedsAnySelectorOrAnyTarget() public {
        uint256 sid = _narrowRoot(payee, ANY);
        vm.prank(agent);
        manager.execute(sid, payee, 1, hex"00000000deadbeef");
        vm.prank(agent);
        manager.execute(id, payee, 1, hex"00000000");
        assertEq(payee.balance, 2);
    }

    function test_executeBatch_selectorZeroMeansEmptyCalldata() public {
        uint256 sid = _narrowRoot(payee, NO_SELECTOR);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(payee, 1, "");
        calls[1] = Call(payee, 1, hex"000000");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CalldataTooShort.selector, sid, 3));
        manager.executeBatch(sid, calls);
        calls[1] = Call(payee, 1, hex"0000000001");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.executeBatch(sid, calls);
    }

    function test_execute_anyTargetCallsAnything() public {
        Target other = new Target();
        vm.startPrank(agent);
        manager.execute(id, address(other), 0, abi.encodeCall(Target.ping, ()));
        manager.execute(id, payee, 1, "");
        vm.stopPrank();
        assertEq(other.pings(), 1);
    }

    /*//////////////////////////////////////////////////////////////
                            FORBIDDEN TARGETS
    //////////////////////////////////////////////////////////////*/

    function test_execute_revertsForTheManagerEvenWithAnyTarget() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(manager)));
        manager.execute(id, address(manager), 0, abi.encodeCall(manager.pauseAll, ()));
    }

    function test_execute_executorIsNeverATarget_revertsForbiddenTarget() public {
        address executor = manager.executor();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
        manager.execute(id, executor, 1, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
        manager.execute(id, executor, 0, abi.encodeCall(Target.ping, ()));
        uint256 sid = _narrowRoot(executor, ANY);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, sid, executor));
        manager.execute(sid, executor, 1, "");
    }

    function test_execute_revertsForTheFactoryEvenWithAnyTarget() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(factory)));
        manager.execute(id, address(factory), 0, abi.encodeCall(factory.deployManager, (agent, bytes32(0))));
    }

    function test_execute_revertsForAnEscrowedTokenEvenWhenAllowlisted() public {
        _rootWithToken(agent, address(usdc), 1e6);
        uint256 sid = _narrowRoot(address(usdc), ANY);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, sid, address(usdc)));
        manager.execute(sid, address(usdc), 0, abi.encodeCall(usdc.approve, (agent, 1)));
    }

    function test_execute_revertsForATokenEscrowedByAnotherSession() public {
        _rootWithToken(subAgent, address(dai), 1e18);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(dai)));
        manager.execute(id, address(dai), 0, abi.encodeCall(dai.transfer, (agent, 1)));
    }

    /*//////////////////////////////////////////////////////////////
                             WHEN IT CANNOT ACT
    //////////////////////////////////////////////////////////////*/

    function test_execute_revertsInDraft() public {
        uint256 sid = _createRoot(_asDraft(_params(agent, DAY)));
        _expectExecuteRevert(sid, abi.encodeWithSelector(SessionNotActive.selector, sid, Status.Draft));
    }

    function test_execute_revertsWhenPaused() public {
        _pause(id);
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
    }

    function test_execute_worksAgainAfterResume() public {
        _pause(id);
        vm.prank(owner);
        manager.resume(id);
        _pay(id, payee, 1);
        assertEq(payee.balance, 1);
    }

    function test_execute_revertsWhenRevoked() public {
        _revoke(id);
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Revoked));
    }

    function test_execute_revertsWhenCompleted() public {
        vm.prank(agent);
        manager.complete(id);
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Completed));
    }

    function test_execute_revertsWhilePausedAll() public {
        vm.prank(owner);
        manager.pauseAll();
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
    }

    function test_execute_revertsAfterRevokeAll() public {
        vm.prank(owner);
        manager.revokeAll();
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Revoked));
    }

    function test_execute_oneSecondBeforeExpirySucceeds() public {
        vm.warp(T0 + 30 * DAY - 1);
        _pay(id, payee, 1);
        assertEq(payee.balance, 1);
    }

    function test_execute_revertsExactlyAtExpiry() public {
        vm.warp(T0 + 30 * DAY);
        _expectExecuteRevert(id, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Expired));
    }

    function test_execute_revertsWhenParentPaused() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        _pause(id);
        _expectExecuteRevert(child, abi.encodeWithSelector(SessionNotActive.selector, child, Status.Paused));
    }

    function test_execute_revertsWhenParentRevoked() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        _revoke(id);
        _expectExecuteRevert(child, abi.encodeWithSelector(SessionNotActive.selector, child, Status.Revoked));
    }

    function test_execute_revertsWhenGrandparentIdledOut() public {
        uint256 root = _createRoot(_withIdle(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), 100));
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1 ether);
        vm.warp(T0 + 100);
        _expectExecuteRevert(grandchild, abi.encodeWithSelector(SessionNotActive.selector, grandchild, Status.Revoked));
    }

    function test_execute_revertsWhenParentExpiredBeforeTheChild() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        // the child ends with its parent even if the parent's expiry is moved below the child's
        vm.prank(owner);
        manager.updateExpiry(id, uint40(T0 + DAY));
        vm.warp(T0 + DAY);
        _expectExecuteRevert(child, abi.encodeWithSelector(SessionNotActive.selector, child, Status.Revoked));
    }

    function test_execute_ofAChildSucceedsWhileItsAncestorsAreActive() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1 ether);
        _pay(grandchild, payee, 0.5 ether);
        assertEq(payee.balance, 0.5 ether);
        assertEq(manager.remaining(grandchild, NATIVE), 0.5 ether);
    }

    /*//////////////////////////////////////////////////////////////
                              FAILING CALLS
    //////////////////////////////////////////////////////////////*/

    function test_execute_failingCallRevertsWithTheTargetsRevertData() public {
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                CallFailed.selector, id, address(target), abi.encodeWithSelector(Target.Boom.selector, 7)
            )
        );
        manager.execute(id, address(target), 0, abi.encodeCall(Target.fail, (7)));
    }

    function test_execute_valueToANonPayableFunctionRevertsWithEmptyReason() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallFailed.selector, id, address(target), ""));
        manager.execute(id, address(target), 1, abi.encodeCall(Target.other, ()));
    }

    function test_execute_plainTransferToAContractWithoutReceiveReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallFailed.selector, id, address(this), ""));
        manager.execute(id, address(this), 1, "");
    }

    function test_execute_failedCallChargesNothing() public {
        vm.prank(agent);
        vm.expectRevert();
        manager.execute(id, address(target), 1 ether, abi.encodeCall(Target.fail, (1)));
        assertEq(manager.remaining(id, NATIVE), 10 ether);
        assertEq(address(manager).balance, 10 ether);
        assertEq(target.received(), 0);
    }

    function test_execute_reentryFromTheTargetIsRefused() public {
        ReentrantAttacker attacker = new ReentrantAttacker();
        attacker.arm(address(manager), abi.encodeCall(manager.execute, (id, payee, 1 ether, "")));
        vm.prank(agent);
        manager.execute(id, address(attacker), 0, abi.encodeCall(ReentrantAttacker.hit, ()));
        assertTrue(attacker.attempted());
        assertFalse(attacker.reentered());
        assertEq(attacker.lastError(), abi.encodeWithSelector(ReentrancyGuardTransient.Reentrancy.selector));
        assertEq(payee.balance, 0);
    }

    function test_manager_refusesPlainEth() public {
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        (bool ok, bytes memory ret) = address(manager).call{value: 1 ether}("");
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(UnexpectedETH.selector, stranger));
    }

    /*//////////////////////////////////////////////////////////////
                              executeBatch
    //////////////////////////////////////////////////////////////*/

    function test_executeBatch_runsEveryCallAndChargesTheSum() public {
        Call[] memory calls = new Call[](3);
        calls[0] = Call(payee, 1 ether, "");
        calls[1] = Call(address(target), 2 ether, abi.encodeCall(Target.ping, ()));
        calls[2] = Call(address(target), 0, abi.encodeCall(Target.other, ()));
        vm.expectEmit(address(manager));
        emit Executed(id, payee, 1 ether, NO_SELECTOR);
        vm.expectEmit(address(manager));
        emit Executed(id, address(target), 2 ether, target.ping.selector);
        vm.expectEmit(address(manager));
        emit Executed(id, address(target), 0, target.other.selector);
        vm.prank(agent);
        bytes[] memory results = manager.executeBatch(id, calls);
        assertEq(results.length, 3);
        assertEq(results[0].length, 0);
        assertEq(abi.decode(results[1], (uint256)), 1);
        assertEq(abi.decode(results[2], (uint256)), 42);
        // the sum of the values left the session's escrow and the manager, each to its own target
        assertEq(manager.remaining(id, NATIVE), 7 ether);
        assertEq(address(manager).balance, 7 ether);
        assertEq(payee.balance, 1 ether);
        assertEq(target.received(), 2 ether);
    }

    function test_executeBatch_failingCallRevertsTheWholeBatchWithItsIndex() public {
        Call[] memory calls = new Call[](2);
        calls[0] = Call(payee, 1 ether, "");
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (3)));
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(BatchCallFailed.selector, id, 1, abi.encodeWithSelector(Target.Boom.selector, 3))
        );
        manager.executeBatch(id, calls);
        assertEq(payee.balance, 0);
        assertEq(manager.remaining(id, NATIVE), 10 ether);
    }

    function test_executeBatch_failingFirstCallReportsIndexZero() public {
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.fail, (0)));
        calls[1] = Call(payee, 1 ether, "");
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(BatchCallFailed.selector, id, 0, abi.encodeWithSelector(Target.Boom.selector, 0))
        );
        manager.executeBatch(id, calls);
    }

    function test_executeBatch_checksTheAllowlistPerCall() public {
        uint256 sid = _narrowRoot(address(target), target.ping.selector);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.ping, ()));
        calls[1] = Call(payee, 0, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.executeBatch(sid, calls);
    }

    function test_executeBatch_budgetIsCumulative() public {
        Call[] memory calls = new Call[](2);
        calls[0] = Call(payee, 6 ether, "");
        calls[1] = Call(payee, 5 ether, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 5 ether, 4 ether));
        manager.executeBatch(id, calls);
    }

    function test_executeBatch_revertsForNonAgent() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, stranger));
        manager.executeBatch(id, new Call[](0));
    }

    function test_executeBatch_revertsWhenPaused() public {
        _pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.executeBatch(id, new Call[](0));
    }

    function test_executeBatch_revertsForAForbiddenTarget() public {
        Call[] memory calls = new Call[](1);
        calls[0] = Call(address(manager), 0, abi.encodeCall(manager.revokeAll, ()));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(manager)));
        manager.executeBatch(id, calls);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev A root for `agent` with 10 ether that may call only `target_`/`selector`.
    function _narrowRoot(address target_, bytes4 selector) internal returns (uint256) {
        return _createRoot(_allow(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 0, 0), target_, selector));
    }

    function _expectExecuteRevert(uint256 sid, bytes memory err) internal {
        address a = manager.getSession(sid).agent;
        vm.prank(a);
        vm.expectRevert(err);
        manager.execute(sid, payee, 1, "");
    }
}
