// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DenylistGuard} from "../../../contracts/guards/DenylistGuard.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice Reading state: getSession / getSessions / listSessions / getBudget / guardsOf,
/// statusOf, remaining, isController, isAllowed, isEscrowToken, globalState, sessionCount, and the manager's
/// wiring (owner, FACTORY, executor, RENDERER).
contract ViewsTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                               getSession
    //////////////////////////////////////////////////////////////*/

    function test_getSession_ofARoot() public {
        SessionParams memory p = _withIdle(_withPeriod(_params(agent, 3 * DAY), 3600, 9), 500);
        p = _withLabel(_withBudget(p, NATIVE, 2 ether, 1 ether, 1.5 ether), "root");
        uint256 id = _createRoot(p);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.id, id);
        assertEq(s.parentId, 0);
        assertEq(s.agent, agent);
        assertEq(s.holder, owner);
        assertEq(uint8(s.status), uint8(Status.Active));
        assertEq(s.depth, 0);
        assertTrue(s.anyTarget);
        assertFalse(s.closed);
        assertEq(s.expiry, T0 + 3 * DAY);
        assertEq(s.lastActive, T0);
        assertEq(s.maxIdle, 500);
        assertEq(s.period, 3600);
        assertEq(s.maxCallsPerPeriod, 9);
        assertEq(s.callsInPeriod, 0);
        assertEq(s.epoch, 0);
        assertEq(s.label, bytes32("root"));
        assertEq(s.checkpointRoot, bytes32(0));
        assertEq(s.taskCount, 0);
        assertEq(s.budgets.length, 1);
        assertEq(s.budgets[0].token, NATIVE);
        assertEq(s.budgets[0].available, 2 ether);
        assertEq(s.budgets[0].perCallCap, 1 ether);
        assertEq(s.budgets[0].periodAllowance, 1.5 ether);
    }

    function test_getSession_ofARootWithoutTimingReadsZeros() public {
        uint256 id = _rootWithEth(agent, 1);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.lastActive, 0);
        assertEq(s.maxIdle, 0);
        assertEq(s.period, 0);
        assertEq(s.maxCallsPerPeriod, 0);
    }

    function test_getSession_ofAChild() public {
        uint256 root = _rootWithEth(agent, 2 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        SessionInfo memory s = manager.getSession(child);
        assertEq(s.parentId, root);
        assertEq(s.depth, 1);
        assertEq(s.holder, agent);
        assertEq(s.agent, subAgent);
        assertEq(s.budgets[0].available, 1 ether);
    }

    function test_getSession_listsNativeFirstEvenWithoutEth() public {
        uint256 id = _rootWithToken(agent, address(usdc), 5e6);
        BudgetInfo[] memory b = manager.getSession(id).budgets;
        assertEq(b.length, 2);
        assertEq(b[0].token, NATIVE);
        assertEq(b[0].available, 0);
        assertEq(b[1].token, address(usdc));
    }

    function test_getSession_reflectsSpendingAndCheckpoints() public {
        uint256 id = _createRoot(
            _withBudget(_withBudget(_params(agent, 30 * DAY), NATIVE, 2 ether, 0, 0), address(usdc), 9e6, 0, 0)
        );
        _pay(id, payee, 0.5 ether);
        vm.prank(agent);
        manager.transferToken(id, address(usdc), payee, 4e6);
        vm.prank(agent);
        manager.checkpoint(id, keccak256("s"), 2);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.budgets[0].token, NATIVE);
        assertEq(s.budgets[0].available, 1.5 ether);
        // an ETH budget keeps no lifetime counter on chain (events carry its spends): spent reads 0
        assertEq(s.budgets[0].spent, 0);
        assertEq(s.budgets[1].token, address(usdc));
        assertEq(s.budgets[1].available, 5e6);
        assertEq(s.budgets[1].spent, 4e6);
        assertEq(s.checkpointRoot, keccak256("s"));
        assertEq(s.taskCount, 2);
    }

    function test_getSession_holderFollowsTheToken() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(owner);
        manager.transferFrom(owner, payee, id);
        assertEq(manager.getSession(id).holder, payee);
    }

    function test_getSession_afterCloseKeepsTheRecord() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        _revoke(id);
        manager.close(id);
        SessionInfo memory s = manager.getSession(id);
        assertTrue(s.closed);
        assertEq(s.holder, address(0));
        assertEq(uint8(s.status), uint8(Status.Revoked));
        assertEq(s.agent, agent);
        assertEq(s.budgets[0].available, 0);
    }

    function test_getSession_unknownReverts() public {
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 1));
        manager.getSession(1);
    }

    /*//////////////////////////////////////////////////////////////
                         getSessions / listSessions
    //////////////////////////////////////////////////////////////*/

    function test_getSessions_returnsEachInOrder() public {
        _rootWithEth(agent, 1);
        _rootWithEth(subAgent, 2);
        _rootWithEth(payee, 3);
        SessionInfo[] memory s = manager.getSessions(_ids(3, 1));
        assertEq(s.length, 2);
        assertEq(s[0].id, 3);
        assertEq(s[0].agent, payee);
        assertEq(s[1].id, 1);
        assertEq(s[1].budgets[0].available, 1);
    }

    function test_getSessions_empty() public view {
        assertEq(manager.getSessions(new uint256[](0)).length, 0);
    }

    function test_getSessions_withAnUnknownIdReverts() public {
        _rootWithEth(agent, 1);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 2));
        manager.getSessions(_ids(1, 2));
    }

    function test_listSessions_pages() public {
        for (uint256 i; i < 5; ++i) {
            _rootWithEth(agent, uint128(i));
        }
        _assertIds(manager.listSessions(1, 2), 1, 2);
        _assertIds(manager.listSessions(3, 2), 3, 2);
        _assertIds(manager.listSessions(4, 10), 4, 2);
        assertEq(manager.listSessions(6, 10).length, 0);
        assertEq(manager.listSessions(2, 0).length, 0);
    }

    function test_listSessions_fromZeroReadsFromOne() public {
        _rootWithEth(agent, 1);
        _rootWithEth(agent, 1);
        _assertIds(manager.listSessions(0, 10), 1, 2);
    }

    function test_listSessions_withNoSessionsIsEmpty() public view {
        assertEq(manager.listSessions(0, 100).length, 0);
    }

    function test_listSessions_includesChildrenAndClosedSessions() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 1);
        _revoke(child);
        manager.close(child);
        SessionInfo[] memory s = manager.listSessions(1, 10);
        assertEq(s.length, 2);
        assertEq(s[1].parentId, root);
        assertTrue(s[1].closed);
    }

    function testFuzz_listSessions_neverPassesTheLastSession(uint8 count, uint16 fromId, uint16 limit) public {
        count = uint8(bound(count, 0, 12));
        for (uint256 i; i < count; ++i) {
            _rootWithEth(agent, 0);
        }
        SessionInfo[] memory s = manager.listSessions(fromId, limit);
        uint256 first = fromId == 0 ? 1 : fromId;
        uint256 expected = first > count ? 0 : count - first + 1;
        if (expected > limit) expected = limit;
        assertEq(s.length, expected);
        for (uint256 i; i < s.length; ++i) {
            assertEq(s[i].id, first + i);
        }
    }

    /*//////////////////////////////////////////////////////////////
                          getBudget / guardsOf
    //////////////////////////////////////////////////////////////*/

    function test_getBudget_ofAnUntouchedTokenIsZero() public {
        uint256 id = _rootWithEth(agent, 1);
        BudgetInfo memory b = manager.getBudget(id, address(usdc));
        assertEq(b.token, address(usdc));
        assertEq(b.available, 0);
        assertEq(b.spent, 0);
        assertEq(b.perCallCap, 0);
    }

    function test_guardsOf_aChildListsOnlyItsOwn() public {
        uint256 root = _createRoot(_withGuard(_params(agent, DAY), address(target)));
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        assertEq(manager.guardsOf(root).length, 1);
        assertEq(manager.guardsOf(child).length, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                statusOf
    //////////////////////////////////////////////////////////////*/

    function test_statusOf_unknownIsNone() public view {
        assertEq(uint8(manager.statusOf(12)), uint8(Status.None));
    }

    function test_statusOf_followsTheLifecycle() public {
        uint256 id = _rootWithEth(agent, 1);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
        _pause(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Paused));
        _revoke(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Revoked));
    }

    function test_statusOf_expiredAtTheExpiry() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.warp(T0 + 30 * DAY - 1);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
        vm.warp(T0 + 30 * DAY);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Expired));
    }

    function test_statusOf_aChildAtItsOwnExpiryIsExpired() public {
        uint256 root = _rootWithEth(agent, 1);
        SessionParams memory p = _childParams(root, subAgent);
        p.expiry = uint40(T0 + DAY);
        uint256 child = _spawn(agent, root, p);
        vm.warp(T0 + DAY);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Expired));
        assertEq(uint8(manager.statusOf(root)), uint8(Status.Active));
    }

    function test_statusOf_aChildIsRevokedWhenItsParentIdlesOut() public {
        uint256 root = _createRoot(_withIdle(_params(agent, DAY), 100));
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        vm.warp(T0 + 100);
        assertEq(uint8(manager.statusOf(root)), uint8(Status.Expired));
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Revoked));
    }

    function test_statusOf_aDraftChildUnderAnActiveOrPausedParentStaysDraft() public {
        uint256 root = _rootWithEth(agent, 1);
        uint256 child = _spawn(agent, root, _asDraft(_childParams(root, subAgent)));
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Draft));
        _pause(root);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Draft));
    }

    function test_statusOf_aChildFollowsItsParentsPause() public {
        uint256 root = _rootWithEth(agent, 1);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        _pause(root);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Paused));
    }

    /*//////////////////////////////////////////////////////////////
                         remaining / isController
    //////////////////////////////////////////////////////////////*/

    function test_remaining_isPerSessionAndToken() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _rootWithToken(agent, address(usdc), 3e6);
        assertEq(manager.remaining(a, NATIVE), 1 ether);
        assertEq(manager.remaining(a, address(usdc)), 0);
        assertEq(manager.remaining(b, address(usdc)), 3e6);
        assertEq(manager.remaining(99, NATIVE), 0);
    }

    function test_isController_ofARootAndAChild() public {
        uint256 root = _rootWithEth(agent, 1);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        assertTrue(manager.isController(root, owner));
        assertFalse(manager.isController(root, agent));
        assertTrue(manager.isController(child, agent));
        assertTrue(manager.isController(child, owner));
        assertFalse(manager.isController(child, subAgent));
        assertFalse(manager.isController(child, stranger));
    }

    function test_isController_movesWithTheToken() public {
        uint256 root = _rootWithEth(agent, 1);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        vm.prank(owner);
        manager.transferFrom(owner, payee, root);
        assertFalse(manager.isController(child, owner));
        assertTrue(manager.isController(child, payee));
    }

    function test_isController_ofAnUnknownSessionIsFalse() public view {
        assertFalse(manager.isController(3, owner));
    }

    /*//////////////////////////////////////////////////////////////
                       isAllowed / isEscrowToken
    //////////////////////////////////////////////////////////////*/

    function test_isAllowed_exactAndAnySelectorEntries() public {
        SessionParams memory p = _allow(_params(agent, DAY), address(target), target.ping.selector);
        p = _allow(p, payee, ANY);
        uint256 id = _createRoot(p);
        assertTrue(manager.isAllowed(id, address(target), target.ping.selector));
        assertFalse(manager.isAllowed(id, address(target), target.other.selector));
        // asking about ANY_SELECTOR asks for the wildcard entry itself
        assertFalse(manager.isAllowed(id, address(target), ANY));
        assertTrue(manager.isAllowed(id, payee, ANY));
        assertTrue(manager.isAllowed(id, payee, 0x12345678));
        assertTrue(manager.isAllowed(id, payee, NO_SELECTOR));
    }

    function test_isAllowed_ignoresTheAnyTargetFlagAndIsPerSession() public {
        uint256 wide = _createRoot(_params(agent, DAY));
        uint256 narrow = _createRoot(_allow(_params(agent, DAY), payee, NO_SELECTOR));
        assertFalse(manager.isAllowed(wide, payee, NO_SELECTOR));
        assertTrue(manager.isAllowed(narrow, payee, NO_SELECTOR));
    }

    function test_isEscrowToken_onceFundedStaysSo() public {
        assertFalse(manager.isEscrowToken(address(usdc)));
        uint256 id = _rootWithToken(agent, address(usdc), 1);
        assertTrue(manager.isEscrowToken(address(usdc)));
        vm.prank(agent);
        manager.complete(id);
        assertTrue(manager.isEscrowToken(address(usdc)));
        assertFalse(manager.isEscrowToken(NATIVE));
    }

    /*//////////////////////////////////////////////////////////////
                       globalState / sessionCount / wiring
    //////////////////////////////////////////////////////////////*/

    function test_globalState_startsAtEpochZeroUnpaused() public view {
        (uint32 epoch, bool pausedAll) = manager.globalState();
        assertEq(epoch, 0);
        assertFalse(pausedAll);
    }

    function test_sessionCount_countsRootsAndChildren() public {
        assertEq(manager.sessionCount(), 0);
        uint256 root = _rootWithEth(agent, 1);
        _spawn(agent, root, _childParams(root, subAgent));
        assertEq(manager.sessionCount(), 2);
    }

    function test_wiring_ownerFactoryExecutorAndRenderer() public view {
        assertEq(manager.owner(), owner);
        assertEq(manager.FACTORY(), address(factory));
        assertTrue(manager.executor().code.length > 0);
        assertTrue(manager.RENDERER().code.length > 0);
        assertTrue(manager.executor() != address(manager));
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _assertIds(SessionInfo[] memory s, uint256 first, uint256 n) internal pure {
        assertEq(s.length, n);
        for (uint256 i; i < n; ++i) {
            assertEq(s[i].id, first + i);
        }
    }
}
