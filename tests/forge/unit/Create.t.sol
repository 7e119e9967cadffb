// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {FeeToken} from "../../../contracts/test/FeeToken.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice createSession / createSessions: what a root session holds, stores and emits, and every refusal.
contract CreateTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                             createSession
    //////////////////////////////////////////////////////////////*/

    function test_createSession_escrowsExactlyTheEthBudget() public {
        uint256 ownerBefore = owner.balance;
        uint256 id = _rootWithEth(agent, 3 ether);
        assertEq(address(manager).balance, 3 ether);
        assertEq(owner.balance, ownerBefore - 3 ether);
        assertEq(manager.remaining(id, NATIVE), 3 ether);
        BudgetInfo memory b = manager.getBudget(id, NATIVE);
        assertEq(b.available, 3 ether);
        assertEq(b.spent, 0);
    }

    function test_createSession_emitsFundedMintCreatedAndUserEventsInOrder() public {
        SessionParams memory p = _withLabel(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), "worker");
        vm.expectEmit(address(manager));
        emit SessionFunded(1, NATIVE, owner, 1 ether);
        vm.expectEmit(address(manager));
        emit Transfer(address(0), owner, 1);
        vm.expectEmit(address(manager));
        emit SessionCreated(1, 0, agent, owner, uint40(T0 + DAY), "worker", Status.Active);
        vm.expectEmit(address(manager));
        emit UpdateUser(1, agent, uint64(T0 + DAY));
        _createRoot(p);
    }

    function test_createSession_mintsTheTokenToTheOwnerAndReturnsTheId() public {
        uint256 first = _rootWithEth(agent, 1);
        uint256 second = _rootWithEth(agent, 1);
        assertEq(first, 1);
        assertEq(second, 2);
        assertEq(manager.ownerOf(second), owner);
        assertEq(manager.balanceOf(owner), 2);
        assertEq(manager.sessionCount(), 2);
    }

    function test_createSession_storesAgentExpiryDepthAndNoParent() public {
        uint256 id = _createRoot(_withLabel(_params(agent, 7 * DAY), "scout"));
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.agent, agent);
        assertEq(s.holder, owner);
        assertEq(s.expiry, T0 + 7 * DAY);
        assertEq(s.parentId, 0);
        assertEq(s.depth, 0);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertTrue(s.anyTarget);
        assertEq(s.label, bytes32("scout"));
    }

    function test_createSession_pullsExactlyTheErc20Budget() public {
        uint256 ownerBefore = usdc.balanceOf(owner);
        vm.expectEmit(address(usdc));
        emit IERC20.Transfer(owner, address(manager), 500e6);
        vm.expectEmit(address(manager));
        emit SessionFunded(1, address(usdc), owner, 500e6);
        uint256 id = _rootWithToken(agent, address(usdc), 500e6);
        assertEq(usdc.balanceOf(address(manager)), 500e6);
        assertEq(usdc.balanceOf(owner), ownerBefore - 500e6);
        assertEq(manager.remaining(id, address(usdc)), 500e6);
        assertTrue(manager.isEscrowToken(address(usdc)));
    }

    function test_createSession_listsNativeFirstThenTokensInOrder() public {
        SessionParams memory p = _params(agent, DAY);
        p = _withBudget(p, address(dai), 7e18, 0, 0);
        p = _withBudget(p, NATIVE, 2 ether, 0, 0);
        p = _withBudget(p, address(usdc), 9e6, 0, 0);
        uint256 id = _createRoot(p);
        BudgetInfo[] memory b = manager.getSession(id).budgets;
        assertEq(b.length, 3);
        assertEq(b[0].token, NATIVE);
        assertEq(b[0].available, 2 ether);
        assertEq(b[1].token, address(dai));
        assertEq(b[1].available, 7e18);
        assertEq(b[2].token, address(usdc));
        assertEq(b[2].available, 9e6);
    }

    function test_createSession_withoutBudgetsNeedsNoValue() public {
        uint256 id = _createRoot(_params(agent, DAY));
        assertEq(manager.remaining(id, NATIVE), 0);
        assertEq(manager.getSession(id).budgets.length, 1);
        assertEq(address(manager).balance, 0);
    }

    function test_createSession_zeroEthBudgetEmitsFundedZero() public {
        vm.expectEmit(address(manager));
        emit SessionFunded(1, NATIVE, owner, 0);
        _rootWithEth(agent, 0);
        assertEq(manager.remaining(1, NATIVE), 0);
    }

    /// @notice A zero budget is a row: it moves nothing, but declares the token (and its caps) for the session.
    function test_createSession_zeroErc20BudgetMovesNothingAndDeclaresARow() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), address(dai), 0, 5, 0));
        assertEq(dai.balanceOf(address(manager)), 0);
        assertTrue(manager.isEscrowToken(address(dai)));
        BudgetInfo[] memory b = manager.getSession(id).budgets;
        assertEq(b.length, 2);
        assertEq(b[1].token, address(dai));
        assertEq(b[1].available, 0);
        assertEq(b[1].perCallCap, 5);
    }

    function test_createSession_expiringOneSecondFromNowSucceeds() public {
        uint256 id = _createRoot(_params(agent, 1));
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
    }

    function test_createSession_storesTiming() public {
        SessionParams memory p = _withIdle(_withPeriod(_params(agent, DAY), 3600, 5), 600);
        uint256 id = _createRoot(p);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.maxIdle, 600);
        assertEq(s.period, 3600);
        assertEq(s.maxCallsPerPeriod, 5);
        assertEq(s.callsInPeriod, 0);
        assertEq(s.lastActive, T0);
    }

    function test_createSession_setsPermissionsAndEmitsEachEntry() public {
        SessionParams memory p = _allow(_params(agent, DAY), address(target), target.ping.selector);
        p = _allow(p, payee, NO_SELECTOR);
        vm.expectEmit(address(manager));
        emit PermissionSet(1, address(target), target.ping.selector, true);
        vm.expectEmit(address(manager));
        emit PermissionSet(1, payee, NO_SELECTOR, true);
        uint256 id = _createRoot(p);
        assertTrue(manager.isAllowed(id, address(target), target.ping.selector));
        assertTrue(manager.isAllowed(id, payee, NO_SELECTOR));
        assertFalse(manager.isAllowed(id, address(target), target.other.selector));
        assertFalse(manager.getSession(id).anyTarget);
    }

    function test_createSession_attachesFourGuards() public {
        SessionParams memory p = _params(agent, DAY);
        for (uint256 i; i < MAX_GUARDS; ++i) {
            p = _withGuard(p, address(target));
        }
        vm.expectEmit(address(manager));
        emit GuardAdded(1, address(target));
        uint256 id = _createRoot(p);
        assertEq(manager.guardsOf(id).length, MAX_GUARDS);
    }

    function test_createSession_storesCapsAndEmitsLimitsUpdated() public {
        SessionParams memory p = _withPeriod(_params(agent, DAY), 1 days, 0);
        p = _withBudget(p, NATIVE, 10 ether, 1 ether, 3 ether);
        vm.expectEmit(address(manager));
        emit LimitsUpdated(1, NATIVE, 1 ether, 3 ether);
        uint256 id = _createRoot(p);
        BudgetInfo memory b = manager.getBudget(id, NATIVE);
        assertEq(b.perCallCap, 1 ether);
        assertEq(b.periodAllowance, 3 ether);
    }

    function test_createSession_acceptsPerCallCapWithoutPeriod() public {
        uint256 id = _createRoot(_withBudget(_params(agent, DAY), address(usdc), 100e6, 10e6, 0));
        assertEq(manager.getBudget(id, address(usdc)).perCallCap, 10e6);
    }

    function test_createSession_draftStartsInDraftWithItsEscrow() public {
        SessionParams memory p = _asDraft(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0));
        vm.expectEmit(address(manager));
        emit SessionCreated(1, 0, agent, owner, uint40(T0 + DAY), bytes32(0), Status.Draft);
        uint256 id = _createRoot(p);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Draft));
        assertEq(manager.remaining(id, NATIVE), 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Draft));
        manager.execute(id, address(target), 1, "");
    }

    function test_createSession_revertsForNonOwner() public {
        SessionParams memory p = _params(agent, DAY);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        manager.createSession(p);
    }

    function test_createSession_revertsForTheAgent() public {
        SessionParams memory p = _params(agent, DAY);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, agent));
        manager.createSession(p);
    }

    function test_createSession_revertsWithZeroAgent() public {
        SessionParams memory p = _params(address(0), DAY);
        vm.prank(owner);
        vm.expectRevert(ZeroAgent.selector);
        manager.createSession(p);
    }

    function test_createSession_revertsWithExpiryNow() public {
        SessionParams memory p = _params(agent, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ExpiryInPast.selector, uint40(T0), uint40(T0)));
        manager.createSession(p);
    }

    function test_createSession_revertsWithZeroExpiry() public {
        SessionParams memory p = _params(agent, DAY);
        p.expiry = 0;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ExpiryInPast.selector, uint40(0), uint40(T0)));
        manager.createSession(p);
    }

    function testFuzz_createSession_revertsWithAnyExpiryNotInTheFuture(uint40 expiry) public {
        expiry = uint40(bound(expiry, 0, T0));
        SessionParams memory p = _params(agent, DAY);
        p.expiry = expiry;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ExpiryInPast.selector, expiry, uint40(T0)));
        manager.createSession(p);
    }

    function test_createSession_revertsWithExpiryPast32Bits() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        uint40 tooLate = uint40(type(uint32).max) + 1;
        p.expiry = tooLate;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ExpiryTooLate.selector, tooLate, uint40(type(uint32).max)));
        manager.createSession{value: 1 ether}(p);
        assertEq(manager.sessionCount(), 0);
        assertEq(address(manager).balance, 0);
    }

    function testFuzz_createSession_revertsWithAnyExpiryPast32Bits(uint40 expiry) public {
        expiry = uint40(bound(expiry, uint256(type(uint32).max) + 1, type(uint40).max));
        SessionParams memory p = _params(agent, DAY);
        p.expiry = expiry;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ExpiryTooLate.selector, expiry, uint40(type(uint32).max)));
        manager.createSession(p);
    }

    function test_createSession_acceptsTheLast32BitExpiry() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        p.expiry = type(uint32).max;
        uint256 id = _createRoot(p);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.expiry, type(uint32).max);
        assertEq(manager.userExpires(id), type(uint32).max);
        // the expiry fills its field of the core word without spilling into its neighbours
        assertEq(s.agent, agent);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertTrue(s.anyTarget);
        assertFalse(s.closed);
        assertEq(s.depth, 0);
        assertEq(s.parentId, 0);
        // it acts until the last second before it
        vm.warp(uint256(type(uint32).max) - 1);
        _pay(id, payee, 1);
        assertEq(payee.balance, 1);
        vm.warp(type(uint32).max);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Expired));
    }

    function test_createSession_revertsWithAnEthBudgetPast96Bits() public {
        // a root's ETH escrow is the token's 96 spare bits
        uint128 amount = uint128(type(uint96).max) + 1;
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, amount, 0, 0);
        vm.deal(owner, amount);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, uint256(amount)));
        manager.createSession{value: amount}(p);
        assertEq(manager.sessionCount(), 0);
    }

    function test_createSession_escrowsAnEthBudgetOfExactly96Bits() public {
        uint128 amount = type(uint96).max;
        vm.deal(owner, amount);
        uint256 id = _rootWithEth(agent, amount);
        assertEq(manager.remaining(id, NATIVE), amount);
        assertEq(address(manager).balance, amount);
        // the holder shares the word and is intact
        assertEq(manager.ownerOf(id), owner);
        assertEq(manager.getSession(id).holder, owner);
    }

    function test_createSession_revertsWhenCallLimitHasNoPeriod() public {
        SessionParams memory p = _withPeriod(_params(agent, DAY), 0, 3);
        vm.prank(owner);
        vm.expectRevert(PeriodRequired.selector);
        manager.createSession(p);
    }

    function test_createSession_revertsWhenEthPeriodAllowanceHasNoPeriod() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0.5 ether);
        vm.prank(owner);
        vm.expectRevert(PeriodRequired.selector);
        manager.createSession{value: 1 ether}(p);
    }

    function test_createSession_revertsWhenErc20PeriodAllowanceHasNoPeriod() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 10e6);
        vm.prank(owner);
        vm.expectRevert(PeriodRequired.selector);
        manager.createSession(p);
    }

    function test_createSession_revertsOnDuplicateNativeBudget() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1, 0, 0);
        p = _withBudget(p, NATIVE, 2, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(DuplicateToken.selector, NATIVE));
        manager.createSession{value: 3}(p);
    }

    function test_createSession_revertsOnDuplicateErc20Budget() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 1, 0, 0);
        p = _withBudget(p, NATIVE, 1, 0, 0);
        p = _withBudget(p, address(usdc), 2, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(DuplicateToken.selector, address(usdc)));
        manager.createSession{value: 1}(p);
    }

    function test_createSession_revertsWhenValueDiffersFromEthBudget() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, 1 ether, 1 ether - 1));
        manager.createSession{value: 1 ether - 1}(p);
    }

    function test_createSession_revertsWhenValueSentWithOnlyAnErc20Budget() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 1e6, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, 0, 5));
        manager.createSession{value: 5}(p);
    }

    function testFuzz_createSession_revertsUnlessValueEqualsEthBudget(uint128 budget, uint128 value) public {
        budget = uint128(bound(budget, 0, 1e24));
        value = uint128(bound(value, 0, 1e24));
        vm.assume(value != budget);
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, budget, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, uint256(budget), uint256(value)));
        manager.createSession{value: value}(p);
    }

    function testFuzz_createSession_escrowsAnyEthBudget(uint128 budget) public {
        budget = uint128(bound(budget, 0, 1e24));
        uint256 id = _rootWithEth(agent, budget);
        assertEq(manager.remaining(id, NATIVE), budget);
        assertEq(address(manager).balance, budget);
    }

    function test_createSession_revertsWithGuardWithoutCode() public {
        SessionParams memory p = _withGuard(_params(agent, DAY), stranger);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(InvalidGuard.selector, stranger));
        manager.createSession(p);
    }

    function test_createSession_revertsWithFiveGuards() public {
        SessionParams memory p = _params(agent, DAY);
        for (uint256 i; i <= MAX_GUARDS; ++i) {
            p = _withGuard(p, address(target));
        }
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(TooManyGuards.selector, MAX_GUARDS));
        manager.createSession(p);
    }

    function test_createSession_revertsWithoutErc20Allowance() public {
        vm.prank(owner);
        usdc.approve(address(manager), 0);
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 1e6, 0, 0);
        vm.prank(owner);
        vm.expectRevert(SafeTransferLib.TransferFromFailed.selector);
        manager.createSession(p);
    }

    function test_createSession_failureLeavesNoTrace() public {
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 1e6, 0, 0);
        p = _withBudget(p, NATIVE, 1, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, 1, 0));
        manager.createSession(p);
        assertEq(manager.sessionCount(), 0);
        assertEq(usdc.balanceOf(address(manager)), 0);
        assertFalse(manager.isEscrowToken(address(usdc)));
        assertEq(manager.balanceOf(owner), 0);
    }

    function test_createSession_withFeeTokenCreditsWhatArrived() public {
        FeeToken fee = _feeToken(1_000, 0);
        vm.expectEmit(address(manager));
        emit SessionFunded(1, address(fee), owner, 900);
        uint256 id = _rootWithToken(agent, address(fee), 1_000);
        assertEq(manager.remaining(id, address(fee)), 900);
        assertEq(fee.balanceOf(address(manager)), 900);
    }

    function test_createSession_revertsWhenNothingArrives() public {
        FeeToken fee = _feeToken(10_000, 0);
        SessionParams memory p = _withBudget(_params(agent, DAY), address(fee), 1_000, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(BalanceMismatch.selector, address(fee), 1_000, 0));
        manager.createSession(p);
    }

    function test_createSession_revertsWhenMoreArrivesThanWasSent() public {
        FeeToken fee = _feeToken(0, 7);
        SessionParams memory p = _withBudget(_params(agent, DAY), address(fee), 1_000, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(BalanceMismatch.selector, address(fee), 1_000, 1_007));
        manager.createSession(p);
    }

    /*//////////////////////////////////////////////////////////////
                             createSessions
    //////////////////////////////////////////////////////////////*/

    function test_createSessions_assignsConsecutiveIdsAndReturnsTheFirst() public {
        _rootWithEth(agent, 1);
        SessionParams[] memory ps = new SessionParams[](3);
        for (uint256 i; i < 3; ++i) {
            ps[i] = _withBudget(_params(agent, DAY), NATIVE, uint128(i + 1), 0, 0);
        }
        vm.prank(owner);
        uint256 first = manager.createSessions{value: 6}(ps);
        assertEq(first, 2);
        assertEq(manager.sessionCount(), 4);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.ownerOf(first + i), owner);
            assertEq(manager.remaining(first + i, NATIVE), i + 1);
        }
        assertEq(address(manager).balance, 7);
    }

    function test_createSessions_emitsCreatedForEverySession() public {
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _params(agent, DAY);
        ps[1] = _params(subAgent, 2 * DAY);
        vm.expectEmit(address(manager));
        emit SessionCreated(1, 0, agent, owner, uint40(T0 + DAY), bytes32(0), Status.Active);
        vm.expectEmit(address(manager));
        emit SessionCreated(2, 0, subAgent, owner, uint40(T0 + 2 * DAY), bytes32(0), Status.Active);
        vm.prank(owner);
        manager.createSessions(ps);
    }

    function test_createSessions_mixesEthAndErc20Sessions() public {
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _withBudget(_params(agent, DAY), address(usdc), 40e6, 0, 0);
        ps[1] = _withBudget(_params(agent, DAY), NATIVE, 2 ether, 0, 0);
        vm.prank(owner);
        manager.createSessions{value: 2 ether}(ps);
        assertEq(manager.remaining(1, address(usdc)), 40e6);
        assertEq(manager.remaining(2, NATIVE), 2 ether);
        assertEq(usdc.balanceOf(address(manager)), 40e6);
    }

    function test_createSessions_revertsWhenValueDiffersFromTheSum() public {
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        ps[1] = _withBudget(_params(agent, DAY), NATIVE, 2 ether, 0, 0);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ValueMismatch.selector, 3 ether, 2 ether));
        manager.createSessions{value: 2 ether}(ps);
    }

    function test_createSessions_revertsForNonOwner() public {
        SessionParams[] memory ps = new SessionParams[](1);
        ps[0] = _params(agent, DAY);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        manager.createSessions(ps);
    }

    function test_createSessions_isAllOrNothing() public {
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _withBudget(_params(agent, DAY), address(usdc), 40e6, 0, 0);
        ps[1] = _params(address(0), DAY);
        vm.prank(owner);
        vm.expectRevert(ZeroAgent.selector);
        manager.createSessions(ps);
        assertEq(manager.sessionCount(), 0);
        assertEq(usdc.balanceOf(address(manager)), 0);
    }

    function test_createSessions_emptyBatchCreatesNothing() public {
        vm.prank(owner);
        uint256 first = manager.createSessions(new SessionParams[](0));
        assertEq(first, 1);
        assertEq(manager.sessionCount(), 0);
    }

    /*//////////////////////////////////////////////////////////////
                              SESSION LIMIT
    //////////////////////////////////////////////////////////////*/

    function test_createSession_theLastIdIs32BitsThenSessionLimitReached() public {
        _setSessionCount(MAX_ID - 1);
        uint256 id = _rootWithEth(agent, 1 ether);
        assertEq(id, MAX_ID);
        assertEq(manager.sessionCount(), MAX_ID);
        assertEq(manager.ownerOf(id), owner);
        assertEq(manager.remaining(id, NATIVE), 1 ether);
        assertEq(manager.getSession(id).agent, agent);
        _pay(id, payee, 0.5 ether);
        assertEq(payee.balance, 0.5 ether);
        // the next id would not fit 32 bits
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        uint256 ownerBefore = owner.balance;
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        manager.createSession{value: 1 ether}(p);
        assertEq(manager.sessionCount(), MAX_ID);
        assertEq(owner.balance, ownerBefore);
        assertEq(address(manager).balance, 0.5 ether);
    }

    function test_createSession_revertsAtTheLimitEvenWithoutBudgets() public {
        _setSessionCount(MAX_ID);
        SessionParams memory p = _params(agent, DAY);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        manager.createSession(p);
        assertEq(manager.sessionCount(), MAX_ID);
    }

    function test_createSessions_revertsAsAWholeWhenTheBatchWouldPassTheLastId() public {
        _setSessionCount(MAX_ID - 2);
        SessionParams[] memory ps = new SessionParams[](3);
        for (uint256 i; i < 3; ++i) {
            ps[i] = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        }
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        manager.createSessions{value: 3 ether}(ps);
        assertEq(manager.sessionCount(), MAX_ID - 2);
        assertEq(address(manager).balance, 0);
        // two still fit: the last one takes the last id
        SessionParams[] memory two = new SessionParams[](2);
        (two[0], two[1]) = (ps[0], ps[1]);
        vm.prank(owner);
        uint256 first = manager.createSessions{value: 2 ether}(two);
        assertEq(first, MAX_ID - 1);
        assertEq(manager.sessionCount(), MAX_ID);
        assertEq(manager.ownerOf(MAX_ID), owner);
        assertEq(manager.remaining(MAX_ID, NATIVE), 1 ether);
        // and now not even one more
        SessionParams[] memory one = new SessionParams[](1);
        one[0] = ps[0];
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        manager.createSessions{value: 1 ether}(one);
    }

    function test_createSessions_anEmptyBatchAtTheLimitCreatesNothing() public {
        _setSessionCount(MAX_ID);
        vm.prank(owner);
        uint256 first = manager.createSessions(new SessionParams[](0));
        assertEq(first, MAX_ID + 1);
        assertEq(manager.sessionCount(), MAX_ID);
    }

    function test_createSessions_revertsWithExpiryPast32BitsInAnyEntry() public {
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _params(agent, DAY);
        ps[1] = _params(agent, DAY);
        ps[1].expiry = uint40(type(uint32).max) + 1;
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(ExpiryTooLate.selector, uint40(type(uint32).max) + 1, uint40(type(uint32).max))
        );
        manager.createSessions(ps);
        assertEq(manager.sessionCount(), 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _feeToken(uint256 feeBps, uint256 bonus) internal returns (FeeToken fee) {
        fee = new FeeToken();
        fee.mint(owner, 1e24);
        fee.setFeeBps(feeBps);
        fee.setBonus(bonus);
        vm.prank(owner);
        fee.approve(address(manager), type(uint256).max);
    }
}
