// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {ISessionGuard} from "../../../contracts/interfaces/ISessionGuard.sol";
import {DenylistGuard} from "../../../contracts/guards/DenylistGuard.sol";
import {FeeToken} from "../../../contracts/test/FeeToken.sol";
import {WeirdFalseToken} from "../../../contracts/test/WeirdFalseToken.sol";
import {WeirdLyingToken} from "../../../contracts/test/WeirdLyingToken.sol";
import {EthRejecter} from "./Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice transferToken: metered payments of ERC-20 (and ETH) from a session's escrow.
contract TransferTokenTest is UnitBase {
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = _createRoot(
            _withBudget(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), NATIVE, 5 ether, 0, 0)
        );
    }

    function test_transferToken_movesTheExactErc20AmountAndEmits() public {
        vm.expectEmit(address(usdc));
        emit IERC20.Transfer(address(manager), payee, 30e6);
        vm.expectEmit(address(manager));
        emit TokenTransferred(id, address(usdc), payee, 30e6);
        vm.prank(agent);
        manager.transferToken(id, address(usdc), payee, 30e6);
        assertEq(usdc.balanceOf(payee), 30e6);
        assertEq(usdc.balanceOf(address(manager)), 70e6);
        BudgetInfo memory b = manager.getBudget(id, address(usdc));
        assertEq(b.available, 70e6);
        assertEq(b.spent, 30e6);
    }

    function test_transferToken_nativeMovesTheExactEth() public {
        vm.expectEmit(address(manager));
        emit TokenTransferred(id, NATIVE, payee, 1 ether);
        vm.prank(agent);
        uint256 managerBefore = address(manager).balance;
        manager.transferToken(id, NATIVE, payee, 1 ether);
        assertEq(payee.balance, 1 ether);
        // exactly the amount left the manager and the session's escrow (the event above carries the spend)
        assertEq(address(manager).balance, managerBefore - 1 ether);
        assertEq(manager.remaining(id, NATIVE), 4 ether);
    }

    function test_transferToken_nativeToARecipientThatRejectsEthReverts() public {
        EthRejecter rejecter = new EthRejecter();
        vm.prank(agent);
        vm.expectRevert(SafeTransferLib.ETHTransferFailed.selector);
        manager.transferToken(id, NATIVE, address(rejecter), 1 ether);
    }

    function testFuzz_transferToken_movesExactlyTheAmount(uint128 amount) public {
        amount = uint128(bound(amount, 1, 200e6));
        vm.prank(agent);
        if (amount > 100e6) {
            vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, address(usdc), amount, 100e6));
        }
        manager.transferToken(id, address(usdc), payee, amount);
        if (amount <= 100e6) {
            assertEq(usdc.balanceOf(payee), amount);
            assertEq(manager.remaining(id, address(usdc)), 100e6 - amount);
        }
    }

    function test_transferToken_beyondTheBudgetReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, address(usdc), 100e6 + 1, 100e6));
        manager.transferToken(id, address(usdc), payee, 100e6 + 1);
    }

    function test_transferToken_withoutABudgetInTheTokenReverts() public {
        _rootWithToken(subAgent, address(dai), 1e18);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, address(dai), 1, 0));
        manager.transferToken(id, address(dai), payee, 1);
    }

    function test_transferToken_nativeBeyondTheBudgetReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 6 ether, 5 ether));
        manager.transferToken(id, NATIVE, payee, 6 ether);
    }

    function test_transferToken_abovePerCallCapReverts() public {
        uint256 sid = _createRoot(_withBudget(_params(agent, DAY), address(usdc), 100e6, 10e6, 0));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, sid, address(usdc), 11e6, 10e6));
        manager.transferToken(sid, address(usdc), payee, 11e6);
    }

    function test_transferToken_nativeAbovePerCallCapReverts() public {
        uint256 sid = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 5 ether, 1 ether, 0));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, sid, NATIVE, 2 ether, 1 ether));
        manager.transferToken(sid, NATIVE, payee, 2 ether);
    }

    function test_transferToken_periodAllowanceBindsAndResets() public {
        SessionParams memory p = _withPeriod(_params(agent, 30 * DAY), 1 days, 0);
        uint256 sid = _createRoot(_withBudget(p, address(usdc), 100e6, 0, 10e6));
        vm.prank(agent);
        manager.transferToken(sid, address(usdc), payee, 8e6);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, sid, address(usdc), 3e6, 2e6));
        manager.transferToken(sid, address(usdc), payee, 3e6);
        vm.warp(T0 + 1 days);
        vm.prank(agent);
        manager.transferToken(sid, address(usdc), payee, 10e6);
        assertEq(usdc.balanceOf(payee), 18e6);
        assertEq(manager.getBudget(sid, address(usdc)).spentInPeriod, 10e6);
    }

    function test_transferToken_countsAgainstTheCallLimit() public {
        uint256 sid = _createRoot(_withBudget(_withPeriod(_params(agent, DAY), 1 days, 1), address(usdc), 100e6, 0, 0));
        vm.prank(agent);
        manager.transferToken(sid, address(usdc), payee, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(CallLimitExceeded.selector, sid, 1));
        manager.transferToken(sid, address(usdc), payee, 1);
    }

    /*//////////////////////////////////////////////////////////////
                              RECIPIENTS
    //////////////////////////////////////////////////////////////*/

    function test_transferToken_toAnUnlistedRecipientReverts() public {
        uint256 sid =
            _createRoot(_allow(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), payee, NO_SELECTOR));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, stranger, NO_SELECTOR));
        manager.transferToken(sid, address(usdc), stranger, 1);
    }

    function test_transferToken_toAnAllowlistedRecipient() public {
        uint256 sid =
            _createRoot(_allow(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), payee, NO_SELECTOR));
        vm.prank(agent);
        manager.transferToken(sid, address(usdc), payee, 1e6);
        assertEq(usdc.balanceOf(payee), 1e6);
    }

    function test_transferToken_recipientWithOnlyAFunctionPermissionReverts() public {
        SessionParams memory p = _allow(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), payee, 0x12345678);
        uint256 sid = _createRoot(p);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, payee, NO_SELECTOR));
        manager.transferToken(sid, address(usdc), payee, 1);
    }

    function test_transferToken_toTheManagerReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(manager)));
        manager.transferToken(id, address(usdc), address(manager), 1);
    }

    function test_transferToken_toTheExecutorRevertsForbiddenTarget() public {
        address executor = manager.executor();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
        manager.transferToken(id, address(usdc), executor, 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
        manager.transferToken(id, NATIVE, executor, 1);
        assertEq(usdc.balanceOf(executor), 0);
    }

    /// @notice ETH sent to an escrowed token could credit the manager with a balance nobody accounts for (a
    /// WETH-like deposit): refused.
    function test_transferToken_ethToAnEscrowedTokenReverts() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(usdc)));
        manager.transferToken(id, NATIVE, address(usdc), 1);
    }

    /// @notice An ERC-20 payout never calls its payee, so an escrowed token may receive one like any address
    /// (the escrow shrinks by exactly what was charged).
    function test_transferToken_erc20ToAnEscrowedTokenIsAPlainPayout() public {
        vm.prank(agent);
        manager.transferToken(id, address(usdc), address(usdc), 1);
        assertEq(usdc.balanceOf(address(usdc)), 1);
        assertEq(manager.remaining(id, address(usdc)), 100e6 - 1);
    }

    /*//////////////////////////////////////////////////////////////
                           WHO, WHEN, GUARDS
    //////////////////////////////////////////////////////////////*/

    function test_transferToken_zeroAmountReverts() public {
        vm.prank(agent);
        vm.expectRevert(ZeroAmount.selector);
        manager.transferToken(id, address(usdc), payee, 0);
    }

    function test_transferToken_revertsForNonAgent() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, owner));
        manager.transferToken(id, address(usdc), payee, 1);
    }

    function test_transferToken_revertsWhenPaused() public {
        _pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.transferToken(id, address(usdc), payee, 1);
    }

    function test_transferToken_asksTheGuardsWithTokenAndAmount() public {
        DenylistGuard guard = new DenylistGuard(address(this));
        uint256 sid =
            _createRoot(_withGuard(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), address(guard)));
        vm.expectCall(
            address(guard),
            abi.encodeCall(ISessionGuard.checkCall, (address(manager), sid, agent, payee, address(usdc), 5e6, ""))
        );
        vm.prank(agent);
        manager.transferToken(sid, address(usdc), payee, 5e6);
    }

    function test_transferToken_isRefusedByAGuard() public {
        DenylistGuard guard = new DenylistGuard(address(this));
        address[] memory denied = new address[](1);
        denied[0] = payee;
        guard.setDenied(denied, true);
        uint256 sid =
            _createRoot(_withGuard(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), address(guard)));
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                GuardRejected.selector,
                sid,
                address(guard),
                abi.encodeWithSelector(DenylistGuard.Denied.selector, payee)
            )
        );
        manager.transferToken(sid, address(usdc), payee, 1);
    }

    /*//////////////////////////////////////////////////////////////
                              ODD TOKENS
    //////////////////////////////////////////////////////////////*/

    function test_transferToken_revertsWhenTheEscrowShrinksByAnotherAmount() public {
        WeirdLyingToken liar = new WeirdLyingToken();
        liar.mint(owner, 1_000);
        vm.prank(owner);
        liar.approve(address(manager), type(uint256).max);
        uint256 sid = _rootWithToken(agent, address(liar), 1_000);
        // from now on balances read double
        liar.setLie(20_000, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BalanceMismatch.selector, address(liar), 100, 200));
        manager.transferToken(sid, address(liar), payee, 100);
    }

    function test_transferToken_tokenReturningFalseRevertsAndChargesNothing() public {
        WeirdFalseToken falsy = new WeirdFalseToken();
        falsy.mint(owner, 1_000);
        vm.prank(owner);
        falsy.approve(address(manager), type(uint256).max);
        uint256 sid = _rootWithToken(agent, address(falsy), 1_000);
        falsy.setFailAll(true);
        vm.prank(agent);
        vm.expectRevert(SafeTransferLib.TransferFailed.selector);
        manager.transferToken(sid, address(falsy), payee, 10);
        assertEq(manager.remaining(sid, address(falsy)), 1_000);
    }

    function test_transferToken_feeTokenChargesWhatLeftTheEscrow() public {
        FeeToken fee = new FeeToken();
        fee.mint(owner, 1_000);
        vm.prank(owner);
        fee.approve(address(manager), type(uint256).max);
        uint256 sid = _rootWithToken(agent, address(fee), 1_000);
        fee.setFeeBps(1_000);
        vm.prank(agent);
        manager.transferToken(sid, address(fee), payee, 500);
        assertEq(fee.balanceOf(payee), 450);
        assertEq(fee.balanceOf(address(manager)), 500);
        assertEq(manager.remaining(sid, address(fee)), 500);
    }

    function test_transferToken_lifetimeSpendingBeyondUint128RevertsInsteadOfWrapping() public {
        uint128 max = type(uint128).max;
        dai.mint(owner, uint256(max) + 1);
        uint256 sid = _rootWithToken(agent, address(dai), max);
        vm.prank(agent);
        manager.transferToken(sid, address(dai), payee, max);
        assertEq(manager.getBudget(sid, address(dai)).spent, max);
        vm.prank(owner);
        manager.fund(sid, address(dai), 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(AmountTooLarge.selector, uint256(max) + 1));
        manager.transferToken(sid, address(dai), payee, 1);
    }
}
