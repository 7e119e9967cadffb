// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "solady/utils/ReentrancyGuardTransient.sol";
import {ISessionGuard} from "../../../contracts/interfaces/ISessionGuard.sol";
import {DenylistGuard} from "../../../contracts/guards/DenylistGuard.sol";
import {AttackGuard} from "../../../contracts/test/AttackGuard.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {RawAnswerGuard} from "./Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice Guards: the DenylistGuard itself, and how a manager asks the guards of a session and its ancestors.
contract GuardsTest is UnitBase {
    event DenylistUpdated(address indexed target, bool denied);

    DenylistGuard internal denylist;

    function setUp() public override {
        super.setUp();
        denylist = new DenylistGuard(owner);
    }

    /*//////////////////////////////////////////////////////////////
                              DenylistGuard
    //////////////////////////////////////////////////////////////*/

    function test_denylist_adminAddsAndRemovesTargets() public {
        address[] memory targets = new address[](2);
        (targets[0], targets[1]) = (payee, stranger);
        vm.expectEmit(address(denylist));
        emit DenylistUpdated(payee, true);
        vm.expectEmit(address(denylist));
        emit DenylistUpdated(stranger, true);
        vm.prank(owner);
        denylist.setDenied(targets, true);
        assertTrue(denylist.isDenied(payee));
        assertTrue(denylist.isDenied(stranger));
        vm.prank(owner);
        denylist.setDenied(targets, false);
        assertFalse(denylist.isDenied(payee));
        assertEq(denylist.admin(), owner);
    }

    function test_denylist_setDeniedRevertsForNonAdmin() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DenylistGuard.NotAdmin.selector, stranger));
        denylist.setDenied(new address[](0), true);
    }

    function test_denylist_checkCallAllowsOthersAndRefusesDenied() public {
        _deny(payee);
        assertTrue(denylist.checkCall(address(manager), 1, agent, stranger, NATIVE, 0, ""));
        vm.expectRevert(abi.encodeWithSelector(DenylistGuard.Denied.selector, payee));
        denylist.checkCall(address(manager), 1, agent, payee, NATIVE, 0, "");
    }

    /*//////////////////////////////////////////////////////////////
                          THE MANAGER ASKS GUARDS
    //////////////////////////////////////////////////////////////*/

    function test_execute_toADeniedTargetIsRejectedWithTheGuardsReason() public {
        _deny(payee);
        uint256 id = _guardedRoot(address(denylist));
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                id,
                address(denylist),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
        manager.execute(id, payee, 1, "");
    }

    function test_execute_asksTheGuardWithTheWholeCall() public {
        uint256 id = _guardedRoot(address(denylist));
        bytes memory data = abi.encodeCall(Target.ping, ());
        vm.expectCall(
            address(denylist),
            abi.encodeCall(ISessionGuard.checkCall, (address(manager), id, agent, address(target), NATIVE, 3, data))
        );
        vm.prank(agent);
        manager.execute(id, address(target), 3, data);
        assertEq(target.pings(), 1);
    }

    function test_execute_everyGuardIsAskedAndTheFirstRefusalWins() public {
        AttackGuard refusing = new AttackGuard();
        refusing.setMode(AttackGuard.Mode.ReturnFalse);
        _deny(payee);
        SessionParams memory p =
            _withGuard(_withGuard(_params(agent, DAY), address(new AttackGuard())), address(refusing));
        p = _withGuard(_withBudget(p, NATIVE, 1 ether, 0, 0), address(denylist));
        uint256 id = _createRoot(p);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(GuardRejected.selector, id, address(refusing), abi.encode(false)));
        manager.execute(id, payee, 1, "");
    }

    function test_execute_guardReturningFalseIsRejected() public {
        _expectGuardRejection(AttackGuard.Mode.ReturnFalse, abi.encode(false));
    }

    function test_execute_guardRevertingWithoutDataIsRejected() public {
        _expectGuardRejection(AttackGuard.Mode.RevertEmpty, "");
    }

    function test_execute_guardRevertingWithAnErrorIsRejectedWithIt() public {
        _expectGuardRejection(
            AttackGuard.Mode.RevertReason, abi.encodeWithSelector(AttackGuard.Nope.selector, 1, payee)
        );
    }

    function test_execute_guardReturningNothingIsRejected() public {
        _expectGuardRejection(AttackGuard.Mode.ReturnNothing, "");
    }

    function test_execute_guardTryingToReenterIsRejected() public {
        AttackGuard guard = new AttackGuard();
        guard.setMode(AttackGuard.Mode.Reenter);
        uint256 id = _guardedRoot(address(guard));
        guard.arm(address(manager), abi.encodeCall(manager.execute, (id, payee, 1, "")));
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                id,
                address(guard),
                abi.encodeWithSelector(ReentrancyGuardTransient.Reentrancy.selector)
            )
        );
        manager.execute(id, payee, 1, "");
    }

    function test_execute_guardAnsweringAnythingButExactlyTrueIsRejected() public {
        bytes[3] memory answers = [abi.encode(uint256(2)), abi.encode(true, true), hex"01"];
        for (uint256 i; i < answers.length; ++i) {
            address guard = address(new RawAnswerGuard(answers[i]));
            uint256 id = _guardedRoot(guard);
            vm.prank(agent);
            vm.expectRevert(abi.encodeWithSelector(GuardRejected.selector, id, guard, answers[i]));
            manager.execute(id, payee, 1, "");
        }
        address ok = address(new RawAnswerGuard(abi.encode(true)));
        uint256 sid = _guardedRoot(ok);
        _pay(sid, payee, 1);
        assertEq(payee.balance, 1);
    }

    /*//////////////////////////////////////////////////////////////
                               ANCESTORS
    //////////////////////////////////////////////////////////////*/

    function test_anAncestorsGuardBindsEveryDescendant() public {
        _deny(payee);
        uint256 root = _guardedRoot(address(denylist));
        uint256 child = _childWithEth(root, subAgent, 0.5 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.25 ether);
        vm.prank(subSubAgent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                grandchild,
                address(denylist),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
        manager.execute(grandchild, payee, 1, "");
        _pay(grandchild, stranger, 1);
        assertEq(stranger.balance, 1);
    }

    function test_aChildsGuardDoesNotBindItsParent() public {
        _deny(payee);
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _spawn(
            agent, root, _withGuard(_withBudget(_childParams(root, subAgent), NATIVE, 1, 0, 0), address(denylist))
        );
        _pay(root, payee, 1);
        vm.prank(subAgent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                child,
                address(denylist),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
        manager.execute(child, payee, 1, "");
    }

    function test_aGuardAddedToADraftChildBindsItsLaterChildren() public {
        _deny(payee);
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child =
            _spawn(agent, root, _asDraft(_withBudget(_childParams(root, subAgent), NATIVE, 0.5 ether, 0, 0)));
        vm.startPrank(agent);
        manager.addGuard(child, address(denylist));
        manager.activate(child);
        vm.stopPrank();
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.1 ether);
        vm.prank(subSubAgent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                grandchild,
                address(denylist),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
        manager.execute(grandchild, payee, 1, "");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _deny(address who) internal {
        address[] memory targets = new address[](1);
        targets[0] = who;
        vm.prank(owner);
        denylist.setDenied(targets, true);
    }

    function _guardedRoot(address guard) internal returns (uint256) {
        return _createRoot(_withGuard(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), guard));
    }

    function _expectGuardRejection(AttackGuard.Mode mode, bytes memory reason) internal {
        AttackGuard guard = new AttackGuard();
        guard.setMode(mode);
        uint256 id = _guardedRoot(address(guard));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(GuardRejected.selector, id, address(guard), reason));
        manager.execute(id, payee, 1, "");
    }
}
