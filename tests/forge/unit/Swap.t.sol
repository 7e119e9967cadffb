// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ISessionGuard} from "../../../contracts/interfaces/ISessionGuard.sol";
import {MockDex} from "../../../contracts/test/MockDex.sol";
import {Target} from "../../../contracts/test/Target.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";
import {WeirdLyingToken} from "../../../contracts/test/WeirdLyingToken.sol";
import {LieFlipper} from "./Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice swap: approve-call-reset through the executor, charged by the actual balance decrease and credited
/// by the actual increase.
contract SwapTest is UnitBase {
    MockDex internal dex;
    uint256 internal id;
    address internal executor;

    function setUp() public override {
        super.setUp();
        dex = new MockDex();
        usdc.mint(address(dex), 1e30);
        dai.mint(address(dex), 1e30);
        vm.deal(address(dex), 1_000 ether);
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 1_000e6, 0, 0);
        p = _withBudget(p, address(dai), 1e18, 0, 0);
        p = _withBudget(p, NATIVE, 10 ether, 0, 0);
        id = _createRoot(p);
        executor = manager.executor();
    }

    /*//////////////////////////////////////////////////////////////
                               HAPPY PATHS
    //////////////////////////////////////////////////////////////*/

    function test_swap_erc20ToErc20ChargesTheInputAndCreditsTheOutput() public {
        vm.expectEmit(address(manager));
        emit Swapped(id, address(dex), address(usdc), 100e6, address(dai), 100e6);
        (uint256 spent, uint256 received) = _swap(id, address(usdc), 100e6, address(dai), 100e6, address(manager));
        assertEq(spent, 100e6);
        assertEq(received, 100e6);
        assertEq(manager.remaining(id, address(usdc)), 900e6);
        assertEq(manager.getBudget(id, address(usdc)).spent, 100e6);
        assertEq(manager.remaining(id, address(dai)), 1e18 + 100e6);
        assertEq(usdc.balanceOf(address(manager)), 900e6);
        assertEq(dai.balanceOf(address(manager)), 1e18 + 100e6);
    }

    function test_swap_leavesNoAllowanceAndNothingInTheExecutor() public {
        _swap(id, address(usdc), 100e6, address(dai), 0, executor);
        assertEq(usdc.allowance(executor, address(dex)), 0);
        assertEq(usdc.balanceOf(executor), 0);
        assertEq(dai.balanceOf(executor), 0);
        // the output sent to the executor was swept into the escrow
        assertEq(manager.remaining(id, address(dai)), 1e18 + 100e6);
    }

    /// @dev What others send to the executor stays there, inert: not swept into the session, and a stash larger
    /// than what the swap pulls does not break it.
    function test_swap_executorDonationIsNeitherSweptNorBreaksTheSwap() public {
        usdc.mint(executor, 5_000e6);
        dai.mint(executor, 7e18);
        (uint256 spent, uint256 received) = _swap(id, address(usdc), 100e6, address(dai), 100e6, executor);
        assertEq(spent, 100e6);
        assertEq(received, 100e6);
        assertEq(manager.remaining(id, address(usdc)), 900e6);
        assertEq(manager.remaining(id, address(dai)), 1e18 + 100e6);
        assertEq(usdc.balanceOf(address(manager)), 900e6);
        assertEq(dai.balanceOf(address(manager)), 1e18 + 100e6);
        // the donation is still where it was sent
        assertEq(usdc.balanceOf(executor), 5_000e6);
        assertEq(dai.balanceOf(executor), 7e18);
        // and the other way round, selling the donated token's counterpart
        (spent, received) = _swap(id, address(dai), 1e18, address(usdc), 0, address(manager));
        assertEq(spent, 1e18);
        assertEq(usdc.balanceOf(executor), 5_000e6);
        assertEq(dai.balanceOf(executor), 7e18);
    }

    function test_swap_executorDonationOfEthIsNotSwept() public {
        vm.deal(executor, 3 ether);
        (, uint256 received) = _swap(id, address(usdc), 5e6, NATIVE, 0, executor);
        assertEq(received, 5e6);
        assertEq(executor.balance, 3 ether);
        assertEq(manager.remaining(id, NATIVE), 10 ether + 5e6);
        (uint256 spent,) = _swap(id, NATIVE, 1 ether, address(usdc), 0, address(manager));
        assertEq(spent, 1 ether);
        assertEq(executor.balance, 3 ether);
    }

    function test_swap_executorIsNeverATarget_revertsForbiddenTarget() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, executor));
        manager.swap(id, address(usdc), 1e6, address(dai), 0, executor, hex"12345678");
    }

    function test_swap_creditsTheActualOutput() public {
        dex.setRate(2.5e18);
        (, uint256 received) = _swap(id, address(usdc), 100e6, address(dai), 0, address(manager));
        assertEq(received, 250e6);
        assertEq(manager.remaining(id, address(dai)), 1e18 + 250e6);
    }

    function test_swap_outputIsCreditedToTheSessionsRow() public {
        uint256 sid = _createRoot(
            _withBudget(_withBudget(_params(subAgent, 30 * DAY), address(usdc), 100e6, 0, 0), address(dai), 0, 0, 0)
        );
        _swap(sid, address(usdc), 40e6, address(dai), 0, address(manager));
        BudgetInfo[] memory b = manager.getSession(sid).budgets;
        assertEq(b.length, 3);
        assertEq(b[2].token, address(dai));
        assertEq(b[2].available, 40e6);
    }

    function test_swap_erc20ToEthSentToTheManagerCreditsEth() public {
        (uint256 spent, uint256 received) = _swap(id, address(usdc), 5e6, NATIVE, 5e6, address(manager));
        assertEq(spent, 5e6);
        assertEq(received, 5e6);
        assertEq(manager.remaining(id, NATIVE), 10 ether + 5e6);
        assertEq(address(manager).balance, 10 ether + 5e6);
    }

    function test_swap_erc20ToEthSentToTheExecutorIsSweptIntoTheEscrow() public {
        (, uint256 received) = _swap(id, address(usdc), 5e6, NATIVE, 0, executor);
        assertEq(received, 5e6);
        assertEq(executor.balance, 0);
        assertEq(manager.remaining(id, NATIVE), 10 ether + 5e6);
    }

    function test_swap_ethToErc20SpendsEthAndCreditsTheToken() public {
        uint256 managerEth = address(manager).balance;
        uint256 dexEth = address(dex).balance;
        vm.expectEmit(address(manager));
        emit Swapped(id, address(dex), NATIVE, 1 ether, address(dai), 1 ether);
        vm.prank(agent);
        (uint256 spent, uint256 received) = manager.swap(
            id,
            NATIVE,
            1 ether,
            address(dai),
            1 ether,
            address(dex),
            abi.encodeCall(MockDex.swap, (NATIVE, 1 ether, address(dai), address(manager)))
        );
        assertEq(spent, 1 ether);
        assertEq(received, 1 ether);
        assertEq(manager.remaining(id, NATIVE), 9 ether);
        // exactly the swapped ETH went from the manager to the dex (the Swapped event carries the spend)
        assertEq(address(manager).balance, managerEth - 1 ether);
        assertEq(address(dex).balance, dexEth + 1 ether);
        assertEq(manager.remaining(id, address(dai)), 2e18);
    }

    function test_swap_chargesOnlyWhatTheDexTook() public {
        vm.prank(agent);
        (uint256 spent, uint256 received) = manager.swap(
            id,
            address(usdc),
            100e6,
            address(dai),
            0,
            address(dex),
            abi.encodeCall(MockDex.swapHalf, (address(usdc), 100e6, address(dai), address(manager)))
        );
        assertEq(spent, 50e6);
        assertEq(received, 50e6);
        assertEq(manager.remaining(id, address(usdc)), 950e6);
        assertEq(usdc.balanceOf(address(manager)), 950e6);
        assertEq(usdc.allowance(executor, address(dex)), 0);
    }

    function test_swap_throughACallThatTakesNothingChargesAndCreditsNothing() public {
        vm.expectEmit(address(manager));
        emit Swapped(id, address(target), address(usdc), 0, address(dai), 0);
        vm.prank(agent);
        (uint256 spent, uint256 received) =
            manager.swap(id, address(usdc), 100e6, address(dai), 0, address(target), abi.encodeCall(Target.ping, ()));
        assertEq(spent, 0);
        assertEq(received, 0);
        assertEq(manager.remaining(id, address(usdc)), 1_000e6);
        assertEq(manager.getBudget(id, address(usdc)).spent, 0);
    }

    function test_swap_asksTheGuardsWithTheInputTokenAndAmount() public {
        uint256 sid = _createRoot(
            _withGuard(
                _withBudget(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), address(dai), 0, 0, 0),
                address(new GuardAllowAll())
            )
        );
        address guard = manager.guardsOf(sid)[0];
        bytes memory data = abi.encodeCall(MockDex.swap, (address(usdc), 10e6, address(dai), address(manager)));
        vm.expectCall(
            guard,
            abi.encodeCall(
                ISessionGuard.checkCall, (address(manager), sid, agent, address(dex), address(usdc), 10e6, data)
            )
        );
        vm.prank(agent);
        manager.swap(sid, address(usdc), 10e6, address(dai), 0, address(dex), data);
    }

    function testFuzz_swap_chargesWhatLeftAndCreditsWhatArrived(uint128 amountIn, uint64 rate) public {
        amountIn = uint128(bound(amountIn, 1, 1_000e6));
        rate = uint64(bound(rate, 0, 10e18));
        dex.setRate(rate);
        (uint256 spent, uint256 received) = _swap(id, address(usdc), amountIn, address(dai), 0, address(manager));
        assertEq(spent, amountIn);
        assertEq(received, uint256(amountIn) * rate / 1e18);
        assertEq(manager.remaining(id, address(usdc)), 1_000e6 - uint256(amountIn));
        assertEq(manager.remaining(id, address(dai)), 1e18 + received);
        assertEq(usdc.balanceOf(address(manager)), manager.remaining(id, address(usdc)));
    }

    /*//////////////////////////////////////////////////////////////
                                REFUSALS
    //////////////////////////////////////////////////////////////*/

    function test_swap_revertsWhenTheDexPullsMoreThanApproved() public {
        dex.setPullExtra(1);
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                CallFailed.selector,
                id,
                address(dex),
                abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(dex), 100e6, 100e6 + 1)
            )
        );
        manager.swap(
            id,
            address(usdc),
            100e6,
            address(dai),
            0,
            address(dex),
            abi.encodeCall(MockDex.swap, (address(usdc), 100e6, address(dai), address(manager)))
        );
    }

    function test_swap_revertsOnInsufficientOutput() public {
        dex.setRate(0.5e18);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(InsufficientOutput.selector, id, address(dai), 50e6, 60e6));
        manager.swap(
            id,
            address(usdc),
            100e6,
            address(dai),
            60e6,
            address(dex),
            abi.encodeCall(MockDex.swap, (address(usdc), 100e6, address(dai), address(manager)))
        );
    }

    function test_swap_revertsBeyondTheBudgetBeforeAnythingMoves() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, address(usdc), 2_000e6, 1_000e6));
        manager.swap(id, address(usdc), 2_000e6, address(dai), 0, address(dex), "");
    }

    function test_swap_revertsAboveThePerCallCap() public {
        uint256 sid = _createRoot(
            _withBudget(_withBudget(_params(agent, DAY), address(usdc), 100e6, 10e6, 0), address(dai), 0, 0, 0)
        );
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, sid, address(usdc), 20e6, 10e6));
        manager.swap(sid, address(usdc), 20e6, address(dai), 0, address(dex), hex"12345678");
    }

    function test_swap_needsTheDexOnTheAllowlist() public {
        uint256 sid =
            _createRoot(_allow(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), address(target), ANY));
        bytes memory data = abi.encodeCall(MockDex.swap, (address(usdc), 1e6, address(dai), address(manager)));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(TargetNotAllowed.selector, sid, address(dex), MockDex.swap.selector));
        manager.swap(sid, address(usdc), 1e6, address(dai), 0, address(dex), data);
    }

    function test_swap_throughAnAllowlistedSelector() public {
        uint256 sid = _createRoot(
            _allow(
                _withBudget(_withBudget(_params(agent, DAY), address(usdc), 100e6, 0, 0), address(dai), 0, 0, 0),
                address(dex),
                MockDex.swap.selector
            )
        );
        (uint256 spent,) = _swap(sid, address(usdc), 1e6, address(dai), 0, address(manager));
        assertEq(spent, 1e6);
    }

    function test_swap_revertsWithAnEscrowedTokenAsTarget() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(dai)));
        manager.swap(id, address(usdc), 1e6, NATIVE, 0, address(dai), abi.encodeCall(dai.transfer, (agent, 1)));
    }

    function test_swap_revertsForTheSameTokenInAndOut() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SameToken.selector, address(usdc)));
        manager.swap(id, address(usdc), 1e6, address(usdc), 0, address(dex), "");
    }

    function test_swap_revertsForAZeroAmount() public {
        vm.prank(agent);
        vm.expectRevert(ZeroAmount.selector);
        manager.swap(id, address(usdc), 0, address(dai), 0, address(dex), "");
    }

    function test_swap_revertsForNonAgent() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, stranger));
        manager.swap(id, address(usdc), 1e6, address(dai), 0, address(dex), "");
    }

    function test_swap_failingCallRevertsCallFailed() public {
        vm.prank(agent);
        vm.expectRevert(
            abi.encodeWithSelector(
                CallFailed.selector, id, address(target), abi.encodeWithSelector(Target.Boom.selector, 5)
            )
        );
        manager.swap(id, address(usdc), 1e6, address(dai), 0, address(target), abi.encodeCall(Target.fail, (5)));
    }

    function test_swap_intoATokenNobodyEscrowsRevertsAndMovesNothing() public {
        TestToken fresh = new TestToken("Fresh", "FRSH", 18);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, id, address(fresh)));
        manager.swap(id, address(usdc), 1e6, address(fresh), 0, address(dex), "");
        assertEq(usdc.balanceOf(address(manager)), 1_000e6);
    }

    function test_swap_intoATokenEscrowedByAnotherSession() public {
        TestToken other = new TestToken("Other", "OTH", 18);
        other.mint(owner, 1e18);
        other.mint(address(dex), 1e30);
        vm.prank(owner);
        other.approve(address(manager), type(uint256).max);
        _rootWithToken(subAgent, address(other), 1e18);
        // escrowed by another session is not enough: this one has no row for it
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, id, address(other)));
        manager.swap(id, address(usdc), 3e6, address(other), 0, address(dex), "");
        // a session with a row (even an empty one) takes it in
        SessionParams memory p = _withBudget(_params(agent, DAY), address(usdc), 10e6, 0, 0);
        uint256 sid = _createRoot(_withBudget(p, address(other), 0, 0, 0));
        (, uint256 received) = _swap(sid, address(usdc), 3e6, address(other), 0, address(manager));
        assertEq(manager.remaining(sid, address(other)), received);
    }

    /// @notice Promise: a session receives a swap's output only in a token it has a budget row for, and that
    /// token's caps then bind it (a cap is not shed by swapping into an uncapped token).
    function test_swap_outputTokenCapsBindWhatTheSwapBroughtIn() public {
        // ETH capped at 1 ether a call; USDC is a row capped at 10 USDC a call
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0);
        uint256 sid = _createRoot(_withBudget(p, address(usdc), 0, 10e6, 0));
        for (uint256 i; i < 5; ++i) {
            vm.prank(agent);
            manager.swap(
                sid, NATIVE, 1 ether, address(usdc), 0, address(dex),
                abi.encodeCall(MockDex.swap, (NATIVE, 1 ether, address(usdc), address(manager)))
            );
        }
        uint256 held = manager.remaining(sid, address(usdc));
        assertGt(held, 10e6);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, sid, address(usdc), held, 10e6));
        manager.transferToken(sid, address(usdc), payee, held);
    }

    /// @notice A child's swap is held to its ancestors' caps on the input before anything moves.
    function test_swap_childIsBoundByTheParentsCapOnTheInput() public {
        SessionParams memory rp = _withBudget(_params(agent, DAY), address(usdc), 100e6, 10e6, 0);
        uint256 parent = _createRoot(_withBudget(rp, address(dai), 0, 0, 0));
        SessionParams memory cp = _withBudget(_params(subAgent, DAY), address(usdc), 50e6, 0, 0);
        uint256 child = _spawn(agent, parent, _withBudget(cp, address(dai), 0, 0, 0));
        bytes memory data = abi.encodeCall(MockDex.swap, (address(usdc), 20e6, address(dai), address(manager)));
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, parent, address(usdc), 20e6, 10e6));
        manager.swap(child, address(usdc), 20e6, address(dai), 0, address(dex), data);
        assertEq(manager.remaining(child, address(usdc)), 50e6);
        data = abi.encodeCall(MockDex.swap, (address(usdc), 10e6, address(dai), address(manager)));
        vm.prank(subAgent);
        manager.swap(child, address(usdc), 10e6, address(dai), 0, address(dex), data);
        assertEq(manager.remaining(child, address(dai)), 10e6);
    }

    /// @notice Promise: no row, no swap output, ETH included: a session funded only in ERC-20 cannot swap into ETH.
    function test_swap_intoEthWithoutAnEthRowReverts() public {
        uint256 sid = _rootWithToken(agent, address(usdc), 100e6);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, sid, NATIVE));
        manager.swap(sid, address(usdc), 1e6, NATIVE, 0, address(dex), "");
    }

    /// @notice A child's rows are a subset of its parent's: it cannot be given (nor swap into) a token its parent
    /// has no row for.
    function test_swap_childCannotTakeInATokenItsParentHasNoRowFor() public {
        uint256 parent = _rootWithToken(agent, address(usdc), 100e6);
        SessionParams memory cp = _withBudget(_params(subAgent, DAY), address(usdc), 50e6, 0, 0);
        uint256 child = _spawn(agent, parent, cp);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, child, address(dai)));
        manager.swap(child, address(usdc), 1e6, address(dai), 0, address(dex), "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, parent, address(dai)));
        manager.spawnChild(parent, _withBudget(cp, address(dai), 0, 0, 0));
    }

    function test_swap_nonAgentIsRefusedBeforeTheOutputCheck() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgent.selector, id, stranger));
        manager.swap(id, address(usdc), 1e6, address(0xbeef), 0, address(dex), "");
    }

    function test_swap_ofASessionThatCannotActIsRefusedBeforeTheOutputCheck() public {
        _pause(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.swap(id, address(usdc), 1e6, address(0xbeef), 0, address(dex), "");
    }

    function test_swap_forbiddenTargetIsRefusedBeforeTheOutputCheck() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, id, address(manager)));
        manager.swap(id, address(usdc), 1e6, address(0xbeef), 0, address(manager), "");
    }

    function test_swap_outputCheckComesBeforeTheBudgetCheck() public {
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, id, address(0xbeef)));
        manager.swap(id, address(usdc), 5_000e6, address(0xbeef), 0, address(dex), "");
    }

    function test_swap_revertsWhenHandingTheInputOverMovesAnotherAmount() public {
        WeirdLyingToken liar = _liarRoot();
        liar.setLie(20_000, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BalanceMismatch.selector, address(liar), 100, 200));
        manager.swap(id + 1, address(liar), 100, address(dai), 0, address(dex), "");
    }

    function test_swap_revertsWhenMoreLeftTheEscrowThanWasApproved() public {
        WeirdLyingToken liar = _liarRoot();
        LieFlipper flipper = new LieFlipper();
        vm.prank(agent);
        // the call makes the manager's balance read zero: 1,000 seem to have left for 100 approved
        vm.expectRevert(abi.encodeWithSelector(SwapOverspent.selector, id + 1, address(liar), 100, 1_000));
        manager.swap(
            id + 1, address(liar), 100, address(dai), 0, address(flipper), abi.encodeCall(LieFlipper.flip, (liar, 0))
        );
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Swaps `amountIn` of `tokenIn` for `tokenOut` at the dex, output sent to `recipient`.
    function _swap(uint256 sid, address tokenIn, uint256 amountIn, address tokenOut, uint256 minOut, address recipient)
        internal
        returns (uint256 spent, uint256 received)
    {
        vm.prank(manager.getSession(sid).agent);
        return manager.swap(
            sid,
            tokenIn,
            amountIn,
            tokenOut,
            minOut,
            address(dex),
            abi.encodeCall(MockDex.swap, (tokenIn, amountIn, tokenOut, recipient))
        );
    }

    /// @dev Session `id + 1`: 1,000 of a token whose balance readings can be made to lie.
    function _liarRoot() internal returns (WeirdLyingToken liar) {
        liar = new WeirdLyingToken();
        liar.mint(owner, 1_000);
        vm.prank(owner);
        liar.approve(address(manager), type(uint256).max);
        _createRoot(_withBudget(_withBudget(_params(agent, 30 * DAY), address(liar), 1_000, 0, 0), address(dai), 0, 0, 0));
    }
}

/// @dev A guard that allows every call.
contract GuardAllowAll {
    function checkCall(address, uint256, address, address, address, uint256, bytes calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }
}
