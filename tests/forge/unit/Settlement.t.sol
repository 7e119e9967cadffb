// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "solady/tokens/ERC721.sol";
import {SafeTransferLib} from "solady/utils/SafeTransferLib.sol";
import {GasBurnerToken} from "../../../contracts/test/GasBurnerToken.sol";
import {WeirdBlocklistToken} from "../../../contracts/test/WeirdBlocklistToken.sol";
import {EthRejecter} from "./Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice complete / close / closeMany / claim / owed / totalOwed: ending sessions, returning their escrow up
/// the tree or to the root's holder, and payouts a token refused.
contract SettlementTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                                complete
    //////////////////////////////////////////////////////////////*/

    function test_complete_byTheAgentRefundsTheRootHolderExactly() public {
        uint256 id = _rootWithEth(agent, 3 ether);
        _pay(id, payee, 1 ether);
        uint256 ownerBefore = owner.balance;
        vm.expectEmit(address(manager));
        emit SessionCompleted(id, agent);
        vm.expectEmit(address(manager));
        emit Transfer(owner, address(0), id);
        vm.expectEmit(address(manager));
        emit UpdateUser(id, address(0), 0);
        vm.expectEmit(address(manager));
        emit EscrowReturned(id, NATIVE, 0, owner, 2 ether);
        vm.expectEmit(address(manager));
        emit SessionClosed(id, agent, Status.Completed);
        vm.prank(agent);
        manager.complete(id);
        assertEq(owner.balance, ownerBefore + 2 ether);
        assertEq(address(manager).balance, 0);
        assertEq(manager.remaining(id, NATIVE), 0);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Completed));
        assertTrue(manager.getSession(id).closed);
        assertEq(manager.balanceOf(owner), 0);
    }

    function test_complete_byAControllerRefundsEthAndErc20() public {
        uint256 id = _createRoot(
            _withBudget(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), address(usdc), 50e6, 0, 0)
        );
        uint256 usdcBefore = usdc.balanceOf(owner);
        vm.expectEmit(address(manager));
        emit EscrowReturned(id, address(usdc), 0, owner, 50e6);
        vm.prank(owner);
        manager.complete(id);
        assertEq(usdc.balanceOf(owner), usdcBefore + 50e6);
        assertEq(usdc.balanceOf(address(manager)), 0);
    }

    function test_complete_refundsTheCurrentHolderAfterATokenTransfer() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.transferFrom(owner, payee, id);
        vm.prank(agent);
        manager.complete(id);
        assertEq(payee.balance, 1 ether);
    }

    function test_complete_ofAChildReturnsTheUnspentToTheParent() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        uint256 child = _childWithEth(root, subAgent, 2 ether);
        _pay(child, payee, 0.5 ether);
        vm.expectEmit(address(manager));
        emit EscrowReturned(child, NATIVE, root, address(0), 1.5 ether);
        vm.prank(subAgent);
        manager.complete(child);
        assertEq(manager.remaining(root, NATIVE), 2.5 ether);
        assertEq(manager.remaining(child, NATIVE), 0);
        assertEq(address(manager).balance, 2.5 ether);
    }

    function test_complete_withNothingLeftReturnsNothing() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        _pay(id, payee, 1 ether);
        vm.recordLogs();
        vm.prank(agent);
        manager.complete(id);
        // SessionCompleted, Transfer (burn), UpdateUser, SessionClosed: no EscrowReturned
        assertEq(vm.getRecordedLogs().length, 4);
    }

    function test_complete_ofPausedAndDraftSessions() public {
        uint256 paused = _rootWithEth(agent, 1 ether);
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        _pause(paused);
        vm.startPrank(agent);
        manager.complete(paused);
        manager.complete(draft);
        vm.stopPrank();
        assertEq(uint8(manager.statusOf(paused)), uint8(Status.Completed));
        assertEq(uint8(manager.statusOf(draft)), uint8(Status.Completed));
    }

    function test_complete_twiceReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(agent);
        manager.complete(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Completed));
        manager.complete(id);
    }

    function test_complete_revertsWhenRevoked() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        _revoke(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, id, Status.Revoked));
        manager.complete(id);
    }

    function test_complete_revertsForStranger() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, id, stranger));
        manager.complete(id);
    }

    function test_complete_revertsForUnknownId() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 4));
        manager.complete(4);
    }

    /*//////////////////////////////////////////////////////////////
                                  close
    //////////////////////////////////////////////////////////////*/

    function test_close_byAStrangerPaysTheRootHolder() public {
        uint256 id = _rootWithEth(agent, 2 ether);
        _revoke(id);
        uint256 ownerBefore = owner.balance;
        vm.expectEmit(address(manager));
        emit SessionClosed(id, stranger, Status.Revoked);
        vm.prank(stranger);
        manager.close(id);
        assertEq(owner.balance, ownerBefore + 2 ether);
        assertTrue(manager.getSession(id).closed);
        assertEq(manager.getSession(id).holder, address(0));
    }

    function test_close_revertsForALiveSession() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(SessionNotEnded.selector, id, Status.Active));
        manager.close(id);
    }

    function test_close_revertsWhenOnlyPausedAll() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.pauseAll();
        vm.expectRevert(abi.encodeWithSelector(SessionNotEnded.selector, id, Status.Paused));
        manager.close(id);
    }

    function test_close_twiceReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        _revoke(id);
        manager.close(id);
        vm.expectRevert(abi.encodeWithSelector(SessionAlreadyClosed.selector, id));
        manager.close(id);
    }

    function test_close_afterCompleteReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(agent);
        manager.complete(id);
        vm.expectRevert(abi.encodeWithSelector(SessionAlreadyClosed.selector, id));
        manager.close(id);
    }

    function test_close_revertsForUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 3));
        manager.close(3);
    }

    function test_close_ofAnExpiredSession() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.warp(T0 + 30 * DAY);
        vm.expectEmit(address(manager));
        emit SessionClosed(id, address(this), Status.Expired);
        manager.close(id);
        assertEq(uint8(manager.statusOf(id)), uint8(Status.Expired));
    }

    function test_close_ofAnIdledOutSession() public {
        uint256 id = _createRoot(_withIdle(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), 60));
        vm.warp(T0 + 60);
        manager.close(id);
        assertEq(address(manager).balance, 0);
    }

    function test_close_afterRevokeAll() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _rootWithEth(agent, 2 ether);
        vm.prank(owner);
        manager.revokeAll();
        uint256 ownerBefore = owner.balance;
        manager.closeMany(_ids(a, b));
        assertEq(owner.balance, ownerBefore + 3 ether);
        assertEq(uint8(manager.statusOf(a)), uint8(Status.Revoked));
    }

    function test_close_ofAChildOfALiveParentCreditsTheParent() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        _revoke(child);
        vm.expectEmit(address(manager));
        emit EscrowReturned(child, NATIVE, root, address(0), 1 ether);
        manager.close(child);
        assertEq(manager.remaining(root, NATIVE), 3 ether);
    }

    function test_close_ofAGrandchildWithAClosedParentCreditsTheGrandparent() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.25 ether);
        vm.prank(subAgent);
        manager.complete(child);
        assertEq(manager.remaining(root, NATIVE), 2.75 ether);
        vm.expectEmit(address(manager));
        emit EscrowReturned(grandchild, NATIVE, root, address(0), 0.25 ether);
        manager.close(grandchild);
        assertEq(manager.remaining(root, NATIVE), 3 ether);
    }

    function test_close_ofAChildWhoseRootClosedPaysTheHolderRecordedAtTheRootsClose() public {
        uint256 root =
            _createRoot(_withBudget(_withBudget(_params(agent, DAY), NATIVE, 3 ether, 0, 0), address(usdc), 9e6, 0, 0));
        uint256 child = _spawn(
            agent,
            root,
            _withBudget(_withBudget(_childParams(root, subAgent), NATIVE, 1 ether, 0, 0), address(usdc), 4e6, 0, 0)
        );
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.5 ether);
        vm.prank(owner);
        manager.transferFrom(owner, payee, root);
        vm.prank(payee);
        manager.revoke(root);
        manager.close(root);
        assertEq(payee.balance, 2 ether);
        // the root is gone; its descendants pay the holder it paid, skipping closed ancestors
        manager.close(child);
        assertEq(payee.balance, 2.5 ether);
        assertEq(usdc.balanceOf(payee), 9e6);
        vm.expectEmit(address(manager));
        emit EscrowReturned(grandchild, NATIVE, 0, payee, 0.5 ether);
        manager.close(grandchild);
        assertEq(payee.balance, 3 ether);
        assertEq(address(manager).balance, 0);
        assertEq(usdc.balanceOf(address(manager)), 0);
    }

    function test_close_ofAWholeTreePaysTheRootHolderEverythingUnspent() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        uint256 a = _childWithEth(root, subAgent, 3 ether);
        uint256 b = _childWithEth(a, subSubAgent, 1 ether);
        _pay(b, payee, 0.5 ether);
        _pay(root, payee, 1 ether);
        _revoke(root);
        uint256 ownerBefore = owner.balance;
        uint256[] memory ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (b, a, root);
        manager.closeMany(ids);
        assertEq(owner.balance, ownerBefore + 8.5 ether);
        assertEq(address(manager).balance, 0);
    }

    function test_close_leavesNoEthEscrowBehindAndNothingRefillsIt() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 0.25 ether);
        // the child closes: its ETH escrow (kept in its token's word, which the burn leaves) goes to the root
        vm.prank(subAgent);
        manager.complete(child);
        assertEq(manager.remaining(child, NATIVE), 0);
        assertEq(manager.getBudget(child, NATIVE).available, 0);
        assertEq(manager.remaining(root, NATIVE), 2.75 ether);
        // a later close under it skips it: it stays at 0
        _revoke(grandchild);
        manager.close(grandchild);
        assertEq(manager.remaining(grandchild, NATIVE), 0);
        assertEq(manager.remaining(child, NATIVE), 0);
        assertEq(manager.remaining(root, NATIVE), 3 ether);
        // nobody can fund it again
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionEnded.selector, child, Status.Completed));
        manager.fund(child, NATIVE, 1);
        // the root closes: everything is paid out once, and every escrow reads 0
        _revoke(root);
        uint256 ownerBefore = owner.balance;
        manager.close(root);
        assertEq(owner.balance, ownerBefore + 3 ether);
        assertEq(address(manager).balance, 0);
        assertEq(manager.remaining(root, NATIVE), 0);
        assertEq(manager.remaining(child, NATIVE), 0);
        assertEq(manager.remaining(grandchild, NATIVE), 0);
        // a closed id has no token: nothing can be sent to it or through it
        vm.expectRevert(ERC721.TokenDoesNotExist.selector);
        manager.ownerOf(root);
        vm.expectRevert(abi.encodeWithSelector(SessionAlreadyClosed.selector, root));
        manager.close(root);
        assertEq(manager.remaining(root, NATIVE), 0);
    }

    function testFuzz_close_ofAChildMovesExactlyItsEthEscrowToTheParent(uint96 budget, uint96 reserved, uint96 spend)
        public
    {
        budget = uint96(bound(budget, 0, 1e24));
        reserved = uint96(bound(reserved, 0, budget));
        spend = uint96(bound(spend, 0, reserved));
        uint256 root = _rootWithEth(agent, budget);
        uint256 child = _childWithEth(root, subAgent, reserved);
        _pay(child, payee, spend);
        _revoke(child);
        manager.close(child);
        assertEq(manager.remaining(child, NATIVE), 0);
        assertEq(manager.remaining(root, NATIVE), uint256(budget) - spend);
        assertEq(address(manager).balance, uint256(budget) - spend);
        assertEq(payee.balance, spend);
    }

    function test_close_forcesEthOnAHolderThatRejectsIt() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        EthRejecter rejecter = new EthRejecter();
        vm.prank(owner);
        manager.transferFrom(owner, address(rejecter), id);
        vm.warp(T0 + 30 * DAY);
        manager.close(id);
        assertEq(address(rejecter).balance, 1 ether);
        assertEq(address(manager).balance, 0);
    }

    function testFuzz_close_returnsTheUnspentToTheHolder(uint128 budget, uint128 spend) public {
        budget = uint128(bound(budget, 0, 1e23));
        spend = uint128(bound(spend, 0, budget));
        uint256 id = _rootWithEth(agent, budget);
        _pay(id, payee, spend);
        _revoke(id);
        uint256 ownerBefore = owner.balance;
        manager.close(id);
        assertEq(owner.balance, ownerBefore + budget - spend);
        assertEq(address(manager).balance, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                closeMany
    //////////////////////////////////////////////////////////////*/

    function test_closeMany_skipsClosedOnes() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _rootWithEth(agent, 1 ether);
        _revoke(a);
        _revoke(b);
        manager.close(a);
        vm.recordLogs();
        manager.closeMany(_ids(a, b));
        assertTrue(manager.getSession(b).closed);
        // only b's settlement: Transfer (burn), UpdateUser, EscrowReturned, SessionClosed
        assertEq(vm.getRecordedLogs().length, 4);
    }

    function test_closeMany_revertsTheWholeBatchOnALiveSession() public {
        uint256 a = _rootWithEth(agent, 1 ether);
        uint256 b = _rootWithEth(agent, 1 ether);
        _revoke(a);
        vm.expectRevert(abi.encodeWithSelector(SessionNotEnded.selector, b, Status.Active));
        manager.closeMany(_ids(a, b));
        assertFalse(manager.getSession(a).closed);
    }

    function test_closeMany_revertsForAnUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 1));
        manager.closeMany(_ids(1));
    }

    /*//////////////////////////////////////////////////////////////
                        DEFERRED PAYOUTS AND claim
    //////////////////////////////////////////////////////////////*/

    function test_close_defersAPayoutTheTokenRefusesAndStillPaysTheEth() public {
        WeirdBlocklistToken blk = _blocklistToken();
        uint256 id = _createRoot(
            _withBudget(_withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0), address(blk), 1_000, 0, 0)
        );
        blk.setBlocked(owner, true);
        _revoke(id);
        uint256 ownerBefore = owner.balance;
        vm.expectEmit(address(manager));
        emit EscrowReturned(id, NATIVE, 0, owner, 1 ether);
        vm.expectEmit(address(manager));
        emit PayoutDeferred(id, address(blk), owner, 1_000);
        vm.expectEmit(address(manager));
        emit EscrowReturned(id, address(blk), 0, owner, 1_000);
        manager.close(id);
        assertEq(owner.balance, ownerBefore + 1 ether);
        assertEq(manager.owed(owner, address(blk)), 1_000);
        assertEq(manager.totalOwed(address(blk)), 1_000);
        assertEq(blk.balanceOf(address(manager)), 1_000);
    }

    function test_claim_sendsWhatIsOwedToAnotherAddress() public {
        WeirdBlocklistToken blk = _deferredPayout(1_000);
        vm.expectEmit(address(manager));
        emit PayoutClaimed(owner, address(blk), payee, 1_000);
        vm.prank(owner);
        uint256 amount = manager.claim(address(blk), payee);
        assertEq(amount, 1_000);
        assertEq(blk.balanceOf(payee), 1_000);
        assertEq(manager.owed(owner, address(blk)), 0);
        assertEq(manager.totalOwed(address(blk)), 0);
        assertEq(blk.balanceOf(address(manager)), 0);
    }

    function test_claim_revertsAsAWholeWhileTheTokenStillRefusesAndTheClaimStays() public {
        WeirdBlocklistToken blk = _deferredPayout(1_000);
        vm.prank(owner);
        vm.expectRevert(SafeTransferLib.TransferFailed.selector);
        manager.claim(address(blk), owner);
        assertEq(manager.owed(owner, address(blk)), 1_000);
        blk.setBlocked(owner, false);
        uint256 before = blk.balanceOf(owner);
        vm.prank(owner);
        manager.claim(address(blk), owner);
        assertEq(blk.balanceOf(owner), before + 1_000);
    }

    function test_claim_ofNothingReverts() public {
        WeirdBlocklistToken blk = _deferredPayout(1_000);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NothingToClaim.selector, stranger, address(blk)));
        manager.claim(address(blk), stranger);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NothingToClaim.selector, owner, NATIVE));
        manager.claim(NATIVE, owner);
        vm.prank(owner);
        manager.claim(address(blk), payee);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NothingToClaim.selector, owner, address(blk)));
        manager.claim(address(blk), payee);
    }

    function test_deferredPayoutsAddUpPerPayeeAndToken() public {
        WeirdBlocklistToken blk = _blocklistToken();
        uint256 a = _rootWithToken(agent, address(blk), 300);
        uint256 b = _rootWithToken(agent, address(blk), 700);
        blk.setBlocked(owner, true);
        _revoke(a);
        _revoke(b);
        manager.closeMany(_ids(a, b));
        assertEq(manager.owed(owner, address(blk)), 1_000);
        vm.prank(owner);
        assertEq(manager.claim(address(blk), payee), 1_000);
    }

    function test_close_whenTheIssuerBlocksTheManagerDefersEveryTokenPayout() public {
        WeirdBlocklistToken blk = _blocklistToken();
        uint256 id = _rootWithToken(agent, address(blk), 500);
        blk.setBlocked(address(manager), true);
        _revoke(id);
        manager.close(id);
        assertEq(manager.owed(owner, address(blk)), 500);
        vm.prank(owner);
        vm.expectRevert(SafeTransferLib.TransferFailed.selector);
        manager.claim(address(blk), owner);
        blk.setBlocked(address(manager), false);
        vm.prank(owner);
        manager.claim(address(blk), owner);
        assertEq(manager.totalOwed(address(blk)), 0);
    }

    function test_close_ofAChildAfterItsRootDefersToTheRecordedHolder() public {
        WeirdBlocklistToken blk = _blocklistToken();
        uint256 root = _rootWithToken(agent, address(blk), 1_000);
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), address(blk), 400, 0, 0));
        _revoke(root);
        uint256 before = blk.balanceOf(owner);
        manager.close(root);
        assertEq(blk.balanceOf(owner), before + 600);
        blk.setBlocked(owner, true);
        vm.expectEmit(address(manager));
        emit PayoutDeferred(child, address(blk), owner, 400);
        manager.close(child);
        assertEq(manager.owed(owner, address(blk)), 400);
    }

    function test_owedAndTotalOwedAreZeroByDefault() public view {
        assertEq(manager.owed(owner, address(usdc)), 0);
        assertEq(manager.totalOwed(address(usdc)), 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _blocklistToken() internal returns (WeirdBlocklistToken blk) {
        blk = new WeirdBlocklistToken();
        blk.mint(owner, 1e24);
        vm.prank(owner);
        blk.approve(address(manager), type(uint256).max);
    }

    /// @dev A root of `amount` blocklisted-token units closed while its holder (owner) is blocked.
    function _deferredPayout(uint128 amount) internal returns (WeirdBlocklistToken blk) {
        blk = _blocklistToken();
        uint256 id = _rootWithToken(agent, address(blk), amount);
        blk.setBlocked(owner, true);
        _revoke(id);
        manager.close(id);
    }

    /*//////////////////////////////////////////////////////////////
                       PAYOUTS WITH A BOUNDED STIPEND
    //////////////////////////////////////////////////////////////*/

    /// @dev A root holding ETH, USDC and two tokens that burn every unit of gas they are given when paying.
    function _rootWithTwoBurners() internal returns (uint256 id, GasBurnerToken a, GasBurnerToken b) {
        a = new GasBurnerToken("Burner A", "BRA");
        b = new GasBurnerToken("Burner B", "BRB");
        a.mint(owner, 100);
        b.mint(owner, 200);
        vm.startPrank(owner);
        a.approve(address(manager), type(uint256).max);
        b.approve(address(manager), type(uint256).max);
        vm.stopPrank();
        SessionParams memory p = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        p = _withBudget(_withBudget(_withBudget(p, address(a), 100, 0, 0), address(usdc), 5e6, 0, 0), address(b), 200, 0, 0);
        id = _createRoot(p);
        a.setBurning(true);
        b.setBurning(true);
    }

    /// @notice Promise (F9): each payout runs with a bounded stipend; a token that burns it is deferred as a
    /// claim, so a close completes whatever tokens the session holds, within a bounded amount of gas.
    function test_close_completesPastTwoGasBurningTokens() public {
        (uint256 id, GasBurnerToken a, GasBurnerToken b) = _rootWithTwoBurners();
        _revoke(id);
        uint256 ethBefore = owner.balance;
        uint256 usdcBefore = usdc.balanceOf(owner);
        vm.expectEmit(address(manager));
        emit PayoutDeferred(id, address(a), owner, 100);
        manager.close{gas: 1_000_000}(id);
        assertEq(owner.balance - ethBefore, 1 ether);
        assertEq(usdc.balanceOf(owner) - usdcBefore, 5e6);
        assertEq(manager.owed(owner, address(a)), 100);
        assertEq(manager.owed(owner, address(b)), 200);
        assertTrue(manager.getSession(id).closed);
        // the holder claims once the token behaves again
        a.setBurning(false);
        vm.prank(owner);
        manager.claim(address(a), owner);
        assertEq(a.balanceOf(owner), 100);
    }

    /// @notice A close given too little gas for a payout's whole stipend reverts instead of deferring an honest
    /// token's payout for want of gas.
    function test_close_withTooLittleGasForAStipendReverts() public {
        uint256 id = _rootWithToken(agent, address(usdc), 5e6);
        _revoke(id);
        vm.expectPartialRevert(PayoutGasTooLow.selector);
        manager.close{gas: 120_000}(id);
        assertFalse(manager.getSession(id).closed);
        manager.close(id);
        assertEq(manager.owed(owner, address(usdc)), 0);
    }
}
