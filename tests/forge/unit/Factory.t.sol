// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {ISessionFactory} from "../../../contracts/interfaces/ISessionFactory.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice SessionFactory: deterministic manager clones per owner and salt, the registry, and initialisation.
contract FactoryTest is UnitBase {
    function test_deployManager_emitsAndReturnsThePredictedAddress() public {
        address predicted = factory.predictManager(payee, bytes32("two"));
        vm.expectEmit(predicted);
        emit OwnershipTransferred(address(0), payee);
        vm.expectEmit(address(factory));
        emit ISessionFactory.ManagerDeployed(payee, predicted, bytes32("two"));
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

    function test_deployManager_makesAMinimalProxyClone() public view {
        // EIP-1167 minimal proxy (Solady's 44-byte form) delegating to the implementation
        assertEq(
            address(manager).code,
            abi.encodePacked(hex"3d3d3d3d363d3d37363d73", factory.implementation(), hex"5af43d3d93803e602a57fd5bf3")
        );
        assertTrue(factory.implementation().code.length > 0);
    }

    function test_managersOf_listsAnOwnersManagersInOrder() public {
        address second = factory.deployManager(owner, bytes32("2"));
        address third = factory.deployManager(owner, bytes32("3"));
        address[] memory list = factory.managersOf(owner);
        assertEq(list.length, 3);
        assertEq(list[0], address(manager));
        assertEq(list[1], second);
        assertEq(list[2], third);
        assertEq(factory.managersOf(stranger).length, 0);
    }

    function test_isManager_onlyForDeployedManagers() public view {
        assertTrue(factory.isManager(address(manager)));
        assertFalse(factory.isManager(factory.implementation()));
        assertFalse(factory.isManager(stranger));
    }

    function test_deployManager_twiceReverts() public {
        vm.expectRevert(abi.encodeWithSelector(ISessionFactory.ManagerExists.selector, address(manager)));
        factory.deployManager(owner, bytes32(0));
    }

    function test_deployManager_forAnotherOwnerBelongsToThatOwner() public {
        vm.prank(stranger);
        IAgentSessions other = IAgentSessions(payable(factory.deployManager(payee, bytes32(0))));
        assertEq(other.owner(), payee);
        SessionParams memory p = _params(agent, DAY);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        other.createSession(p);
    }

    function test_managersKeepSeparateSessionsAndExecutors() public {
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
