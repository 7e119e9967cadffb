// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice pause / resume / revoke of one session, and how they reach its descendants.
contract LifecycleTest is UnitBase {
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = _rootWithEth(agent, 5 ether);
    }

    /*//////////////////////////////////////////////////////////////
                                  pause
    //////////////////////////////////////////////////////////////*/

    function test_pause_storesPausedAndEmits() public {
        vm.expectEmit(address(manager));
        emit SessionPaused(id, owner);
        _pause(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Paused));
        assertEq(uint8(manager.getSession(id).status), uint8(Status.Paused));
    }

    function test_pause_keepsTheEscrowAndBlocksActing() public {
        _pause(id);
        assertEq(manager.remaining(id, NATIVE), 5 ether);
        assertEq(address(manager).balance, 5 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.execute(id, payee, 1, "");
    }

    function test_pause_byTheParentAgentHoldingTheChild() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        vm.prank(agent);
        manager.pause(child);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Paused));
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
    }

    function test_pause_revertsWhenAlreadyPaused() public {
        _pause(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.pause(id);
    }

    function test_pause_revertsForADraft() public {
        uint256 sid = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, sid, Status.Draft));
        manager.pause(sid);
    }

    function test_pause_revertsForNonController() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, stranger));
        manager.pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, agent));
        manager.pause(id);
    }

    function test_pause_revertsWhenRevoked() public {
        _revoke(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Revoked));
        manager.pause(id);
    }

    function test_pause_revertsWhenExpired() public {
        vm.warp(T0 + 30 * DAY);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Expired));
        manager.pause(id);
    }

    function test_pause_revertsForUnknownId() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 77));
        manager.pause(77);
    }

    /*//////////////////////////////////////////////////////////////
                                 resume
    //////////////////////////////////////////////////////////////*/

    function test_resume_restoresActiveAndEmits() public {
        _pause(id);
        vm.expectEmit(address(manager));
        emit SessionResumed(id, owner);
        vm.prank(owner);
        manager.resume(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
        _pay(id, payee, 1);
    }

    function test_resume_revertsWhenActive() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotPaused.selector, id, Status.Active));
        manager.resume(id);
    }

    function test_resume_revertsForADraft() public {
        uint256 sid = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotPaused.selector, sid, Status.Draft));
        manager.resume(sid);
    }

    function test_resume_revertsForNonController() public {
        _pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, agent));
        manager.resume(id);
    }

    function test_resume_revertsWhenThePausedSessionWasRevoked() public {
        _pause(id);
        _revoke(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Revoked));
        manager.resume(id);
    }

    function test_resume_ofAChildDoesNotLiftItsParentsPause() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        _pause(child);
        _pause(id);
        vm.prank(owner);
        manager.resume(child);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Paused));
        vm.prank(owner);
        manager.resume(id);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Active));
    }

    /*//////////////////////////////////////////////////////////////
                                 revoke
    //////////////////////////////////////////////////////////////*/

    function test_revoke_storesRevokedAndEmits() public {
        vm.expectEmit(address(manager));
        emit SessionRevoked(id, owner);
        _revoke(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Revoked));
    }

    function test_revoke_keepsTheEscrowAndTheTokenUntilClose() public {
        _revoke(id);
        assertEq(manager.ownerOf(id), owner);
        assertEq(manager.remaining(id, NATIVE), 5 ether);
        assertEq(address(manager).balance, 5 ether);
        assertFalse(manager.getSession(id).closed);
    }

    function test_revoke_twiceReverts() public {
        _revoke(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Revoked));
        manager.revoke(id);
    }

    function test_revoke_revertsWhenCompleted() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        vm.prank(subAgent);
        manager.complete(child);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, child, Status.Completed));
        manager.revoke(child);
    }

    function test_revoke_ofACompletedRootRevertsForItsFormerHolder() public {
        vm.prank(agent);
        manager.complete(id);
        // the token is burned: nobody holds the root any more
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, owner));
        manager.revoke(id);
    }

    function test_revoke_revertsWhenExpired() public {
        vm.warp(T0 + 30 * DAY);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Expired));
        manager.revoke(id);
    }

    function test_revoke_revertsWhenIdledOut() public {
        uint256 sid = _createRoot(_withIdle(_params(agent, DAY), 60));
        vm.warp(T0 + 60);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, sid, Status.Expired));
        manager.revoke(sid);
    }

    function test_revoke_ofASessionWithAnIdleTimeoutNotYetReached() public {
        uint256 sid = _createRoot(_withIdle(_params(agent, DAY), 60));
        vm.warp(T0 + 59);
        _revoke(sid);
        assertEq(uint8(manager.statusOf(sid)), uint8(Status.Revoked));
    }

    function test_revoke_revertsForNonController() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, agent));
        manager.revoke(id);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, stranger));
        manager.revoke(id);
    }

    function test_revoke_ofPausedAndDraftSessions() public {
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        _pause(id);
        _revoke(id);
        _revoke(draft);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(draft)), uint8(Status.Revoked));
    }

    function test_revoke_revertsForUnknownId() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 8));
        manager.revoke(8);
    }

    function test_revoke_byAnAncestorsHolder() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        vm.expectEmit(address(manager));
        emit SessionRevoked(grandchild, owner);
        _revoke(grandchild);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Active));
    }

    /*//////////////////////////////////////////////////////////////
                         REACHING THE DESCENDANTS
    //////////////////////////////////////////////////////////////*/

    function test_revokingAnAncestorStopsTheGrandchild() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        _revoke(id);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Revoked));
    }

    function test_pausingAnAncestorPausesTheGrandchildUntilResumed() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        _pause(id);
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Paused));
        vm.prank(owner);
        manager.resume(id);
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Active));
    }

    function test_aRevokedAncestorDominatesAPausedOne() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        _pause(child);
        _revoke(id);
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Revoked));
    }

    function test_completingAnAncestorStopsTheGrandchild() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        vm.prank(subAgent);
        manager.complete(child);
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Revoked));
        vm.prank(subSubAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, grandchild, Status.Revoked));
        manager.execute(grandchild, payee, 1, "");
    }

    function test_anAncestorExpiringByTimeStopsTheGrandchild() public {
        uint256 child = _childWithEth(id, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        vm.prank(owner);
        manager.updateExpiry(child, uint40(T0 + DAY));
        vm.warp(T0 + DAY);
        assertEq(uint8(manager.statusOf(child)), uint8(Status.Expired));
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Revoked));
    }
}
