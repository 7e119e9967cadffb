// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice The owner's manager-wide switches: transferOwnership, pauseAll / unpauseAll, revokeAll (epochs).
contract OwnerWideTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                            transferOwnership
    //////////////////////////////////////////////////////////////*/

    function test_transferOwnership_handsTheManagerOver() public {
        vm.expectEmit(address(manager));
        emit OwnershipTransferred(owner, payee);
        vm.prank(owner);
        manager.transferOwnership(payee);
        assertEq(manager.owner(), payee);
        vm.prank(payee);
        uint256 id = manager.createSession(_params(agent, DAY));
        assertEq(manager.ownerOf(id), payee);
        SessionParams memory p = _params(agent, DAY);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, owner));
        manager.createSession(p);
    }

    function test_transferOwnership_revertsForNonOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        manager.transferOwnership(stranger);
    }

    /*//////////////////////////////////////////////////////////////
                           pauseAll / unpauseAll
    //////////////////////////////////////////////////////////////*/

    function test_pauseAll_pausesEverySessionUntilUnpauseAll() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _childWithEth(a, subAgent, 0.5 ether);
        vm.expectEmit(address(manager));
        emit AllPaused(owner);
        vm.prank(owner);
        manager.pauseAll();
        (uint32 epoch, bool pausedAll) = manager.globalState();
        assertEq(epoch, 0);
        assertTrue(pausedAll);
        assertEq(uint8(manager.statusOf(a)), uint8(Status.Paused));
        assertEq(uint8(manager.statusOf(b)), uint8(Status.Paused));
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, b, Status.Paused));
        manager.execute(b, payee, 1, "");

        vm.expectEmit(address(manager));
        emit AllUnpaused(owner);
        vm.prank(owner);
        manager.unpauseAll();
        (, pausedAll) = manager.globalState();
        assertFalse(pausedAll);
        assertEq(uint8(manager.statusOf(b)), uint8(Status.Active));
        _pay(b, payee, 1);
    }

    function test_pauseAll_keepsADraftADraft() public {
        uint256 id = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        manager.pauseAll();
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Draft));
    }

    function test_pauseAll_revertsForNonOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        manager.pauseAll();
    }

    function test_unpauseAll_revertsForNonOwner() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, agent));
        manager.unpauseAll();
    }

    function test_pauseAll_refusesEth() public {
        vm.prank(owner);
        (bool ok, bytes memory ret) = address(manager).call{value: 1}(abi.encodeCall(manager.pauseAll, ()));
        assertFalse(ok);
        assertEq(ret.length, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                revokeAll
    //////////////////////////////////////////////////////////////*/

    function test_revokeAll_bumpsTheEpochAndRevokesEverySession() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _childWithEth(a, subAgent, 0.5 ether);
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        vm.expectEmit(address(manager));
        emit AllRevoked(owner, 1);
        vm.prank(owner);
        manager.revokeAll();
        (uint32 epoch,) = manager.globalState();
        assertEq(epoch, 1);
        assertEq(uint8(manager.statusOf(a)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(b)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(draft)), uint8(Status.Revoked));
        // the escrow stays until close
        assertEq(address(manager).balance, 1 ether);
    }

    function test_revokeAll_sessionsCreatedAfterwardsCarryTheNewEpochAndWork() public {
        _rootWithEth(agent, 1 ether);
        vm.startPrank(owner);
        manager.revokeAll();
        manager.revokeAll();
        vm.stopPrank();
        uint256 id = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(id, subAgent, 0.5 ether);
        assertEq(manager.getSession(id).epoch, 2);
        assertEq(manager.getSession(child).epoch, 2);
        _pay(child, payee, 0.5 ether);
        assertEq(payee.balance, 0.5 ether);
    }

    function test_revokeAll_revokesEveryIdHandedOutSoFarAndNoLaterOne() public {
        uint256 root = _rootWithEth(agent, 2 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.5 ether);
        uint256 paused = _rootWithEth(agent, 1 ether);
        _pause(paused);
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        vm.prank(owner);
        manager.revokeAll();
        uint256[] memory old = new uint256[](5);
        (old[0], old[1], old[2], old[3], old[4]) = (root, child, grandchild, paused, draft);
        for (uint256 i; i < old.length; ++i) {
            SessionInfo memory s = manager.getSession(old[i]);
            assertEq(uint8(s.status), uint8(Status.Revoked));
            assertEq(s.epoch, 0);
            assertEq(manager.userOf(old[i]), address(0));
        }
        vm.prank(subSubAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, grandchild, Status.Revoked));
        manager.execute(grandchild, payee, 1, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Revoked));
        manager.execute(root, payee, 1, "");

        // a root opened afterwards is active, of the new generation, and acts
        uint256 fresh = _rootWithEth(agent, 1 ether);
        assertEq(fresh, draft + 1);
        assertEq(uint8(manager.statusOf(fresh)), uint8(Status.Active));
        assertEq(manager.getSession(fresh).epoch, 1);
        assertEq(manager.userOf(fresh), agent);
        _pay(fresh, payee, 0.25 ether);
        // so does a child spawned under it
        uint256 freshChild = _childWithEth(fresh, subAgent, 0.5 ether);
        assertEq(uint8(manager.statusOf(freshChild)), uint8(Status.Active));
        assertEq(manager.getSession(freshChild).epoch, 1);
        _pay(freshChild, payee, 0.5 ether);
        assertEq(payee.balance, 0.75 ether);
        // the old ones stay revoked
        assertEq(uint8(manager.statusOf(root)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(grandchild)), uint8(Status.Revoked));

        // a second revoke-all takes the newer ones too
        vm.expectEmit(address(manager));
        emit AllRevoked(owner, 2);
        vm.prank(owner);
        manager.revokeAll();
        (uint32 epoch,) = manager.globalState();
        assertEq(epoch, 2);
        assertEq(uint8(manager.statusOf(fresh)), uint8(Status.Revoked));
        assertEq(uint8(manager.statusOf(freshChild)), uint8(Status.Revoked));
        assertEq(manager.getSession(fresh).epoch, 1);
        assertEq(manager.getSession(freshChild).epoch, 1);
        // every revoked session reads as the generation before the current one
        assertEq(manager.getSession(root).epoch, 1);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, freshChild, Status.Revoked));
        manager.execute(freshChild, payee, 1, "");
        // and the next root works again
        uint256 third = _rootWithEth(agent, 1 ether);
        assertEq(manager.getSession(third).epoch, 2);
        _pay(third, payee, 1 ether);
        assertEq(payee.balance, 1.75 ether);
    }

    function test_revokeAll_ofAnEmptyManagerRevokesNothingLater() public {
        vm.prank(owner);
        manager.revokeAll();
        uint256 id = _rootWithEth(agent, 1 ether);
        assertEq(id, 1);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
        assertEq(manager.getSession(id).epoch, 1);
        _pay(id, payee, 1 ether);
        assertEq(payee.balance, 1 ether);
    }

    function test_revokeAll_keepsTheFinalStatusOfEndedSessions() public {
        uint256 done = _rootWithEth(agent, 1 ether);
        vm.prank(agent);
        manager.complete(done);
        uint256 expired = _createRoot(_params(agent, DAY));
        vm.warp(T0 + DAY);
        vm.prank(owner);
        manager.revokeAll();
        // a completed (settled) session keeps its status; a live one, expired by time, reads revoked
        assertEq(uint8(manager.statusOf(done)), uint8(Status.Completed));
        assertEq(uint8(manager.statusOf(expired)), uint8(Status.Revoked));
    }

    function test_revokeAll_aRevokedRootCannotSpawnOrBeFundedButCloses() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.revokeAll();
        SessionParams memory p = _childParams(root, subAgent);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Revoked));
        manager.spawnChild(root, p);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, root, Status.Revoked));
        manager.fund{value: 1}(root, NATIVE, 1);
        uint256 ownerBefore = owner.balance;
        manager.close(root);
        assertEq(owner.balance, ownerBefore + 1 ether);
        assertEq(manager.remaining(root, NATIVE), 0);
        assertEq(manager.sessionCount(), 1);
    }

    function test_revokeAll_revertsForNonOwner() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, agent));
        manager.revokeAll();
    }

    function test_unknownFunctionReverts() public {
        (bool ok,) = address(manager).call(abi.encodeWithSignature("nope()"));
        assertFalse(ok);
    }
}
