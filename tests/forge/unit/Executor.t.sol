// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {ISessionExecutor} from "../../../contracts/interfaces/ISessionExecutor.sol";
import {SessionExecutor} from "../../../contracts/SessionExecutor.sol";
import {MockDex} from "../../../contracts/test/MockDex.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice SessionExecutor: obeys only its own manager, relays calls untouched, approve-call-reset-sweep swaps,
/// holds nothing between transactions.
contract ExecutorTest is UnitBase {
    ISessionExecutor internal executor;

    function setUp() public override {
        super.setUp();
        executor = ISessionExecutor(manager.executor());
    }

    function test_executor_isACloneOfTheFactorysImplementation() public view {
        address impl = SessionExecutor(payable(address(executor))).IMPLEMENTATION();
        assertEq(
            address(executor).code, abi.encodePacked(hex"3d3d3d3d363d3d37363d73", impl, hex"5af43d3d93803e602a57fd5bf3")
        );
        assertTrue(impl.code.length > 0);
        assertTrue(impl != address(executor));
    }

    function test_run_revertsForAnyoneButItsManager() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISessionExecutor.NotManager.selector, stranger));
        executor.run(address(target), abi.encodeCall(Target.ping, ()));
    }

    function test_run_revertsForAnotherManager() public {
        vm.prank(payee);
        IAgentSessions other = IAgentSessions(payable(factory.deployManager(payee, bytes32(0))));
        vm.prank(address(other));
        vm.expectRevert(abi.encodeWithSelector(ISessionExecutor.NotManager.selector, address(other)));
        executor.run(address(target), abi.encodeCall(Target.ping, ()));
    }

    function test_swap_revertsForAnyoneButItsManager() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ISessionExecutor.NotManager.selector, stranger));
        executor.swap(address(usdc), 1, address(dai), address(target), "");
    }

    function test_executor_refusesPlainEth() public {
        vm.deal(stranger, 1);
        vm.prank(stranger);
        (bool ok, bytes memory ret) = address(executor).call{value: 1}("");
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(ISessionExecutor.UnexpectedETH.selector, stranger));
    }

    function test_run_returnsTheTargetsRawAnswer() public {
        vm.deal(address(manager), 1 ether);
        vm.prank(address(manager));
        (bool ok, bytes memory ret) = address(executor).call{value: 1 ether}(
            abi.encodeCall(ISessionExecutor.run, (address(target), abi.encodeCall(Target.ping, ())))
        );
        assertTrue(ok);
        assertEq(abi.decode(ret, (uint256)), 1);
        assertEq(target.lastCaller(), address(executor));
        assertEq(target.received(), 1 ether);
    }

    function test_run_revertsWithTheTargetsRawRevertData() public {
        vm.prank(address(manager));
        vm.expectRevert(abi.encodeWithSelector(Target.Boom.selector, 9));
        executor.run(address(target), abi.encodeCall(Target.fail, (9)));
    }

    function test_swap_approvesCallsResetsAndSweepsBothTokensToItsManager() public {
        MockDex dex = new MockDex();
        dai.mint(address(dex), 1e24);
        usdc.mint(address(executor), 100e6);
        vm.prank(address(manager));
        executor.swap(
            address(usdc),
            60e6,
            address(dai),
            address(dex),
            abi.encodeCall(MockDex.swapHalf, (address(usdc), 60e6, address(dai), address(executor)))
        );
        assertEq(usdc.allowance(address(executor), address(dex)), 0);
        // the 40 it held before the 60 arrived stays here (only what the swap changed goes back)
        assertEq(usdc.balanceOf(address(executor)), 40e6);
        assertEq(dai.balanceOf(address(executor)), 0);
        // the unused half of the 60 went back, with the output
        assertEq(usdc.balanceOf(address(manager)), 30e6);
        assertEq(dai.balanceOf(address(manager)), 30e6);
    }

    function test_swap_revertsWithTheTargetsRawRevertData() public {
        vm.prank(address(manager));
        vm.expectRevert(abi.encodeWithSelector(Target.Boom.selector, 4));
        executor.swap(address(usdc), 0, address(dai), address(target), abi.encodeCall(Target.fail, (4)));
    }

    function test_swap_withEthInForwardsTheValueAndApprovesNothing() public {
        MockDex dex = new MockDex();
        dai.mint(address(dex), 1e24);
        vm.deal(address(manager), 1 ether);
        vm.prank(address(manager));
        executor.swap{value: 1 ether}(
            NATIVE,
            1 ether,
            address(dai),
            address(dex),
            abi.encodeCall(MockDex.swap, (NATIVE, 1 ether, address(dai), address(executor)))
        );
        assertEq(address(dex).balance, 1 ether);
        assertEq(dai.balanceOf(address(manager)), 1 ether);
        assertEq(address(executor).balance, 0);
    }
}
