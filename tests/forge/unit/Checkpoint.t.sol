// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice checkpoint: the agent anchors a state root and a never-decreasing task counter.
contract CheckpointTest is UnitBase {
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = _createRoot(_withIdle(_withPeriod(_params(agent, DAY), 1 days, 1), 100));
    }

    function test_checkpoint_storesRootAndTaskCountAndEmits() public {
        vm.expectEmit(address(manager));
        emit Checkpointed(id, keccak256("state"), 3);
        vm.prank(agent);
        manager.checkpoint(id, keccak256("state"), 3);
        SessionInfo memory s = manager.getSession(id);
        assertEq(s.checkpointRoot, keccak256("state"));
        assertEq(s.taskCount, 3);
    }

    function test_checkpoint_overwritesWithAHigherCount() public {
        vm.startPrank(agent);
        manager.checkpoint(id, keccak256("a"), 1);
        manager.checkpoint(id, keccak256("b"), 9);
        vm.stopPrank();
        assertEq(manager.getSession(id).checkpointRoot, keccak256("b"));
        assertEq(manager.getSession(id).taskCount, 9);
    }

    function test_checkpoint_withTheSameCountIsAllowed() public {
        vm.startPrank(agent);
        manager.checkpoint(id, keccak256("a"), 4);
        manager.checkpoint(id, keccak256("b"), 4);
        vm.stopPrank();
        assertEq(manager.getSession(id).checkpointRoot, keccak256("b"));
    }

    function test_checkpoint_withALowerCountReverts() public {
        vm.prank(agent);
        manager.checkpoint(id, keccak256("a"), 4);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TaskCountDecreased.selector, id, 4, 3));
        manager.checkpoint(id, keccak256("b"), 3);
    }

    function testFuzz_checkpoint_taskCountNeverGoesBack(uint64 first, uint64 second) public {
        vm.prank(agent);
        manager.checkpoint(id, bytes32(uint256(1)), first);
        vm.prank(agent);
        if (second < first) vm.expectRevert(abi.encodeWithSelector(TaskCountDecreased.selector, id, first, second));
        manager.checkpoint(id, bytes32(uint256(2)), second);
        assertEq(manager.getSession(id).taskCount, second < first ? first : second);
    }

    function test_checkpoint_revertsForNonAgent() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, owner));
        manager.checkpoint(id, bytes32(0), 1);
    }

    function test_checkpoint_revertsWhenPaused() public {
        _pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.checkpoint(id, bytes32(0), 1);
    }

    function test_checkpoint_refreshesTheIdleTimeout() public {
        vm.warp(T0 + 99);
        vm.prank(agent);
        manager.checkpoint(id, bytes32(0), 1);
        assertEq(manager.getSession(id).lastActive, T0 + 99);
        vm.warp(T0 + 198);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Active));
    }

    function test_checkpoint_doesNotUseUpTheCallLimit() public {
        vm.startPrank(agent);
        manager.checkpoint(id, bytes32(0), 1);
        manager.checkpoint(id, bytes32(0), 2);
        manager.execute(id, payee, 0, "");
        vm.stopPrank();
        assertEq(manager.getSession(id).callsInPeriod, 1);
    }
}
