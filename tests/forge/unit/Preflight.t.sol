// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DenylistGuard} from "../../../contracts/guards/DenylistGuard.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice check / preflight: "would this execute pass, and if not why", without sending anything.
contract PreflightTest is UnitBase {
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = _createRoot(_withPeriod(_withBudget(_params(agent, DAY), NATIVE, 5 ether, 2 ether, 0), 1 days, 1));
    }

    function test_check_passesForAValidCall() public view {
        (bool ok, bytes memory reason) =
            manager.check(id, agent, address(target), 1 ether, abi.encodeCall(Target.ping, ()));
        assertTrue(ok);
        assertEq(reason.length, 0);
    }

    function test_check_passesForAPlainTransfer() public view {
        (bool ok,) = manager.check(id, agent, payee, 0, "");
        assertTrue(ok);
    }

    function test_preflight_passesForAValidCall() public view {
        manager.preflight(id, agent, payee, 2 ether, "");
    }

    function test_check_doesNotUseUpTheCallLimit() public {
        for (uint256 i; i < 3; ++i) {
            (bool ok,) = manager.check(id, agent, payee, 1, "");
            assertTrue(ok);
        }
        _pay(id, payee, 1);
        assertEq(manager.getSession(id).callsInPeriod, 1);
    }

    function test_check_returnsTheEncodedErrorOfAStranger() public view {
        (bool ok, bytes memory reason) = manager.check(id, stranger, payee, 1, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(NotAgent.selector, id, stranger));
    }

    function test_check_predictsTheBudget() public view {
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, 6 ether, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 6 ether, 5 ether));
    }

    function test_check_predictsThePerCallCap() public view {
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, 3 ether, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(PerCallCapExceeded.selector, id, NATIVE, 3 ether, 2 ether));
    }

    function test_check_predictsTheCallLimit() public {
        _pay(id, payee, 1);
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, 1, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(CallLimitExceeded.selector, id, 1));
    }

    function test_check_predictsAForbiddenTarget() public view {
        (bool ok, bytes memory reason) = manager.check(id, agent, address(manager), 0, hex"12345678");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(ForbiddenTarget.selector, id, address(manager)));
    }

    function test_check_predictsTheExecutorAsAForbiddenTarget() public view {
        address executor = manager.executor();
        (bool ok, bytes memory reason) = manager.check(id, agent, executor, 0, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
    }

    /// @dev check answers like execute: stubs are refused, selector 0 with data needs more than a plain transfer.
    function test_check_selectorZeroMeansEmptyCalldata() public {
        uint256 sid = _createRoot(_allow(_params(agent, DAY), payee, NO_SELECTOR));
        (bool ok, bytes memory reason) = manager.check(sid, agent, payee, 0, "");
        assertTrue(ok);
        (ok, reason) = manager.check(sid, agent, payee, 0, hex"00");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(CalldataTooShort.selector, sid, 1));
        (ok, reason) = manager.check(sid, agent, payee, 0, hex"00000000ff");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        vm.expectRevert(abi.encodeWithSelector(CalldataTooShort.selector, sid, 3));
        manager.preflight(sid, agent, payee, 0, hex"000000");
        uint256 anySid = _createRoot(_allow(_params(agent, DAY), payee, ANY));
        (ok,) = manager.check(anySid, agent, payee, 0, hex"00000000ff");
        assertTrue(ok);
    }

    function test_check_predictsTheAllowlist() public {
        uint256 sid = _createRoot(_allow(_params(agent, DAY), address(target), target.ping.selector));
        (bool ok, bytes memory reason) = manager.check(sid, agent, address(target), 0, abi.encodeCall(Target.other, ()));
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(target), target.other.selector));
    }

    function test_check_predictsAGuardsRefusal() public {
        DenylistGuard guard = new DenylistGuard(address(this));
        address[] memory denied = new address[](1);
        denied[0] = payee;
        guard.setDenied(denied, true);
        uint256 sid = _createRoot(_withGuard(_params(agent, DAY), address(guard)));
        (bool ok, bytes memory reason) = manager.check(sid, agent, payee, 0, "");
        assertFalse(ok);
        assertEq(
            reason,
            abi.encodeWithSelector(
                GuardRejected.selector,
                sid,
                address(guard),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
    }

    function test_check_predictsAPausedSession() public {
        _pause(id);
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, 1, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
    }

    function test_check_predictsAnUnknownSession() public view {
        (bool ok, bytes memory reason) = manager.check(42, agent, payee, 1, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(SessionNotFound.selector, 42));
    }

    function test_preflight_revertsWithTheSameErrorAsCheck() public {
        (, bytes memory reason) = manager.check(id, agent, payee, 3 ether, "");
        vm.expectRevert(reason);
        manager.preflight(id, agent, payee, 3 ether, "");
    }

    function test_execute_failsExactlyAsCheckPredicted() public {
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, 6 ether, "");
        assertFalse(ok);
        vm.prank(agent);
        vm.expectRevert(reason);
        manager.execute(id, payee, 6 ether, "");
    }

    function testFuzz_check_agreesWithExecute(uint128 value) public {
        value = uint128(bound(value, 0, 7 ether));
        (bool ok, bytes memory reason) = manager.check(id, agent, payee, value, "");
        vm.prank(agent);
        if (!ok) vm.expectRevert(reason);
        manager.execute(id, payee, value, "");
        if (ok) assertEq(payee.balance, value);
    }
}
