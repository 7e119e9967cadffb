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
