// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {ISessionFactory} from "../../../contracts/interfaces/ISessionFactory.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice SessionFactory: deterministic managers (copies of the implementation) per owner and salt, the registry, and initialisation.
contract FactoryTest is UnitBase {
    function test_deployManager_emitsAndReturnsThePredictedAddress() public {
        address predicted = factory.predictManager(payee, bytes32("two"));
        vm.expectEmit(predicted);
        emit OwnershipTransferred(address(0), payee);
        vm.expectEmit(address(factory));
        emit ISessionFactory.ManagerDeployed(payee, predicted, bytes32("two"));
        vm.prank(payee);
        address deployed = factory.deployManager(payee, bytes32("two"));
        assertEq(deployed, predicted);
        assertEq(IAgentSessions(payable(deployed)).owner(), payee);
        assertTrue(IAgentSessions(payable(deployed)).executor().code.length > 0);
    }

    function test_predictManager_differsByOwnerAndSalt() public view {
        address a = factory.predictManager(owner, bytes32(0));
        assertEq(a, address(manager));
        assertTrue(factory.predictManager(owner, bytes32(uint256(1))) != a);
        assertTrue(factory.predictManager(payee, bytes32(0)) != a);
    }

    function test_deployManager_copiesTheImplementationsCode() public view {
        // a full copy (immutables included), not a proxy: no delegatecall on any call
        assertEq(address(manager).code, factory.implementation().code);
        assertGt(address(manager).code.length, 20_000);
    }

    function test_deployManager_withoutGasForTheCodeFailsClearly() public {
        vm.prank(payee);
        vm.expectRevert(ISessionFactory.ManagerDeployFailed.selector);
        factory.deployManager{gas: 1_000_000}(payee, bytes32("low"));
        assertEq(factory.managerCount(payee), 0);
    }

    function test_managersOf_listsAnOwnersManagersInOrder() public {
        vm.startPrank(owner);
        address second = factory.deployManager(owner, bytes32("2"));
        address third = factory.deployManager(owner, bytes32("3"));
        vm.stopPrank();
        address[] memory list = factory.managersOf(owner, 0, 10);
        assertEq(list.length, 3);
        assertEq(list[0], address(manager));
        assertEq(list[1], second);
        assertEq(list[2], third);
        assertEq(factory.managerCount(owner), 3);
        assertEq(factory.managersOf(stranger, 0, 10).length, 0);
        assertEq(factory.managerCount(stranger), 0);
    }

    function test_managersOf_pages() public {
        vm.startPrank(owner);
        address second = factory.deployManager(owner, bytes32("2"));
        address third = factory.deployManager(owner, bytes32("3"));
        vm.stopPrank();
        address[] memory page = factory.managersOf(owner, 1, 1);
        assertEq(page.length, 1);
        assertEq(page[0], second);
        page = factory.managersOf(owner, 2, 5);
        assertEq(page.length, 1);
        assertEq(page[0], third);
        assertEq(factory.managersOf(owner, 3, 5).length, 0);
        assertEq(factory.managersOf(owner, type(uint256).max, type(uint256).max).length, 0);
        assertEq(factory.managersOf(owner, 0, 0).length, 0);
    }

    function test_isManager_onlyForDeployedManagers() public view {
        assertTrue(factory.isManager(address(manager)));
        assertFalse(factory.isManager(factory.implementation()));
        assertFalse(factory.isManager(stranger));
    }

    function test_deployManager_twiceReverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(ISessionFactory.ManagerExists.selector, address(manager)));
        factory.deployManager(owner, bytes32(0));
    }

    /// @notice Promise: `deployManager` deploys only for `msg.sender`: nobody front-runs an owner's address or
    /// list position.
    function test_deployManager_onlyForTheCaller() public {
        address predicted = factory.predictManager(payee, bytes32(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISessionFactory.DeployerNotOwner.selector, payee, stranger));
        factory.deployManager(payee, bytes32(0));
        assertEq(predicted.code.length, 0);
        assertEq(factory.managerCount(payee), 0);
        vm.prank(payee);
        assertEq(factory.deployManager(payee, bytes32(0)), predicted);
        assertEq(factory.managersOf(payee, 0, 1)[0], predicted);
    }

    function test_managersKeepSeparateSessionsAndExecutors() public {
        vm.prank(owner);
        IAgentSessions other = IAgentSessions(payable(factory.deployManager(owner, bytes32("x"))));
        _rootWithEth(agent, 1);
        assertEq(other.sessionCount(), 0);
        assertEq(manager.sessionCount(), 1);
        assertTrue(other.executor() != manager.executor());
    }

    function test_initialize_byStrangerReverts() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotFactory.selector, stranger));
        manager.initialize(stranger);
    }

    function test_initialize_byTheOwnerReverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotFactory.selector, owner));
        manager.initialize(owner);
    }

    function test_initialize_againByTheFactoryReverts() public {
        vm.prank(address(factory));
        vm.expectRevert(AlreadyInitialized.selector);
        manager.initialize(stranger);
    }

    function test_implementation_cannotBeInitialisedByAStranger() public {
        IAgentSessions impl = IAgentSessions(payable(factory.implementation()));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotFactory.selector, stranger));
        impl.initialize(stranger);
    }
}
