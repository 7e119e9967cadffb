// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice Promise: after `rotateAgent`, the old key has no power over the session or any descendant, in gas
/// that does not grow with the number of children; the root's holder can always reach every descendant.
contract RotationTest is UnitBase {
    address internal fresh = makeAddr("fresh");
    uint256 internal root;
    /// @dev A child the root's agent opened for its own key (its token went to the agent too).
    uint256 internal selfChild;
    /// @dev A child the root's agent opened for a sub-agent (token held by the root's agent).
    uint256 internal subChild;

    function setUp() public override {
        super.setUp();
        root = _rootWithEth(agent, 10 ether);
        selfChild = _childWithEth(root, agent, 2 ether);
        subChild = _childWithEth(root, subAgent, 2 ether);
        assertEq(manager.ownerOf(selfChild), agent);
        vm.prank(owner);
        manager.rotateAgent(root, fresh);
    }

    function test_oldKeyCannotSpendFromAChildItIsTheAgentOf() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        manager.execute(selfChild, payee, 1 ether, "");
        (bool ok, bytes memory reason) = manager.check(selfChild, agent, payee, 1 ether, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        manager.transferToken(selfChild, NATIVE, payee, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        manager.checkpoint(selfChild, bytes32("x"), 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        manager.complete(selfChild);
        SessionParams memory p = _childParams(selfChild, agent);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, selfChild, agent));
        manager.spawnChild(selfChild, p);
        assertEq(manager.remaining(selfChild, NATIVE), 2 ether);
    }

    function test_oldKeyLosesTheHoldersPowersOverTheChildrenItSpawned() public {
        bytes[6] memory calls = [
            abi.encodeCall(manager.rotateAgent, (subChild, agent)),
            abi.encodeCall(manager.updateLimits, (subChild, NATIVE, 0, 0)),
            abi.encodeCall(manager.pause, (subChild)),
            abi.encodeCall(manager.revoke, (subChild)),
            abi.encodeCall(manager.updateExpiry, (subChild, uint40(block.timestamp + 1 hours))),
            abi.encodeCall(manager.fund, (subChild, NATIVE, 1))
        ];
        for (uint256 i; i < calls.length; ++i) {
            vm.prank(agent);
            (bool ok,) = address(manager).call(calls[i]);
            assertFalse(ok);
        }
        assertFalse(manager.isController(subChild, agent));
        assertFalse(manager.isController(selfChild, agent));
        // the one the owner paused stays paused
        _pause(subChild);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, subChild, agent));
        manager.resume(subChild);
    }

    function test_oldKeyCannotHandTheChildTokensOn() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, subChild, agent));
        manager.transferFrom(agent, stranger, subChild);
        // nor can an operator it approved before the rotation
        vm.prank(agent);
        manager.setApprovalForAll(stranger, true);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(RotatedOut.selector, subChild, agent));
        manager.transferFrom(agent, stranger, subChild);
    }

    function test_theRootsHolderStillReachesEveryDescendant() public {
        assertTrue(manager.isController(subChild, owner));
        _pause(subChild);
        vm.prank(owner);
        manager.resume(subChild);
        vm.prank(owner);
        manager.rotateAgent(selfChild, subSubAgent);
        vm.prank(subSubAgent);
        manager.execute(selfChild, payee, 1 ether, "");
        // the sub-agent, whose role is its own, still acts
        _pay(subChild, payee, 1 ether);
        assertEq(payee.balance, 2 ether);
    }

    function test_aKeyGrantedTheRoleAgainHasItAgain() public {
        vm.prank(owner);
        manager.rotateAgent(root, agent);
        vm.prank(agent);
        manager.execute(selfChild, payee, 1 ether, "");
        assertTrue(manager.isController(subChild, agent));
    }

    function test_aHolderRotatingItselfOutKeepsItsHoldersPower() public {
        // the agent holds subChild; as its holder it hands subChild's role on and stays in control
        vm.prank(owner);
        manager.rotateAgent(root, agent);
        uint256 own = _childWithEth(root, agent, 1 ether);
        vm.prank(agent);
        manager.rotateAgent(own, subSubAgent);
        assertTrue(manager.isController(own, agent));
        vm.prank(agent);
        manager.pause(own);
    }

    function test_aKeyRotatedOutBelowButStillAgentAboveKeepsItsPowers() public {
        // the owner takes the self-child's role from the root's (current) agent: it stays the root's agent, and with
        // that role keeps its powers over the subtree (its holder's power over the child included)
        vm.prank(owner);
        manager.rotateAgent(root, agent);
        vm.prank(owner);
        manager.rotateAgent(selfChild, subSubAgent);
        assertTrue(manager.isController(selfChild, agent));
        vm.prank(agent);
        manager.pause(selfChild);
    }

    function test_nobodyControlsThroughABurnedToken() public {
        _revoke(subChild);
        manager.close(subChild);
        assertFalse(manager.isController(subChild, address(0)));
        assertTrue(manager.isController(subChild, owner));
    }

    function test_rotationGasDoesNotGrowWithTheChildren() public {
        uint256 gasFew = _rotationGas(0);
        uint256 gasMany = _rotationGas(20);
        assertEq(gasMany, gasFew);
    }

    /// @dev Gas of rotating a fresh root's agent out (by its holder) once it has `children` children, measured
    /// from a snapshot so each measurement starts from the same state of the world.
    function _rotationGas(uint256 children) internal returns (uint256 used) {
        uint256 snapshot = vm.snapshotState();
        uint256 id = _rootWithEth(subAgent, 10 ether);
        for (uint256 i; i < children; ++i) {
            _childWithEth(id, subAgent, 0.1 ether);
        }
        // the same accounts warm in both measurements (a read goes through the extension and the views), every
        // storage slot cold
        manager.statusOf(id);
        vm.cool(address(manager));
        vm.prank(owner);
        uint256 g = gasleft();
        manager.rotateAgent(id, subSubAgent);
        used = g - gasleft();
        vm.revertToState(snapshot);
    }
}
