// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {Test} from "forge-std/Test.sol";
import {SessionFactory} from "../../contracts/SessionFactory.sol";
import {SessionManagerExtension} from "../../contracts/SessionManagerExtension.sol";
contract SmokeTest is Test {
    function test_deploy() public {
        SessionFactory f = new SessionFactory(address(new SessionManagerExtension()));
        address m = f.deployManager(address(this), bytes32(0));
        assertTrue(m.code.length > 0);
    }
}
