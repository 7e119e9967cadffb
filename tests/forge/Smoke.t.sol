// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionTest} from "./utils/SessionTest.sol";

contract SmokeTest is SessionTest {
    function test_execute_paysTargetFromSessionEscrow() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(agent);
        manager.execute(id, address(target), 0.25 ether, "");
        assertEq(address(target).balance, 0.25 ether);
        assertEq(manager.remaining(id, NATIVE), 0.75 ether);
    }
}
