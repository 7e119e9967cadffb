// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SymbolicTest} from "./utils/SymbolicTest.sol";
import {WeirdBlocklistToken} from "../../../contracts/test/WeirdBlocklistToken.sol";

/// @notice Settlement (`_close` / `_returnEscrow` behind `complete`, `close` and `revoke` + `close`), proved through
/// the real manager against a reference model, for every split of the escrow between a root R, its child C and its
/// grandchild G: a session's unspent escrow goes to its nearest unclosed ancestor (credited exactly), or, when none
/// is left, to the root's token holder (not the manager owner: R's token changed hands). After every step each
/// escrow and the holder's balance match the model, and the manager holds exactly the escrows plus what it owes:
/// nothing is created or lost. The four closing orders below (in ETH) reach every case of the rule (the other two
/// orders, C-R-G and G-R-C, only repeat cases); an ERC-20 that refuses the payout is covered by its own proof. Each
/// order is its own proof, with non-empty escrows (empty ones have theirs): one symbolic order or zero escrows in a
/// single proof multiply the paths past what `make prove` can afford.
contract SymbolicSettlement is SymbolicTest {
    address internal holder = address(0x60000); // holds R's token (not the manager owner)
    address internal subAgent = address(0x50000); // C's agent (and G's spawner)
    address internal subSubAgent = address(0x70000); // G's agent

    /// @dev A USDC-like token that refuses transfers to blocked accounts (settlement then owes the payout).
    WeirdBlocklistToken internal blk;

    uint256 internal constant R = 0;
    uint256 internal constant C = 1;
    uint256 internal constant G = 2;

    /// @dev The reference model and the live world.
    struct World {
        address token;
        uint256[3] ids;
        uint256[3] available; // expected unspent escrow per session
        bool[3] closed;
        uint256 paidOut; // expected payouts to the holder so far
        uint256 holderBefore;
    }

    function setUp() public override {
        super.setUp();
        blk = new WeirdBlocklistToken();
        blk.mint(owner, 1 << 200);
        vm.prank(owner);
        blk.approve(address(manager), type(uint256).max);
    }

    /// @notice ERC-20 payouts that the token refuses are owed, not lost: R (held by `holder`) and its child C in a
    /// token that may block the holder. Closing R pays R's escrow to the holder, or, if the token refuses, records
    /// it as owed to the holder; closing C then does the same with C's. At every step the manager holds exactly
    /// the escrows plus what it owes, and a claim pays out exactly what was owed.
    function check_settlement_refusedPayoutIsOwed() public {
        uint256 total = _uint(128, "total");
        uint256 toChild = _uint(128, "toChild");
        vm.assume(0 < toChild && toChild < total);
        address token = address(blk);
        uint256 root = _root(token, total, 0, 0, 0);
        _must(owner, abi.encodeCall(manager.transferFrom, (owner, holder, root)));
        uint256 child = abi.decode(
            _must(agent, abi.encodeCall(manager.spawnChild, (root, _childParams(subAgent, token, toChild)))), (uint256)
        );
        bool blocked = svm.createBool("holderBlocked");
        blk.setBlocked(holder, blocked);

        _must(holder, abi.encodeCall(manager.complete, (root)));
        _assertPaidOrOwed(token, blocked, total - toChild);
        assertEq(blk.balanceOf(address(manager)), _available(child, token) + manager.totalOwed(token));

        _must(holder, abi.encodeCall(manager.close, (child)));
        _assertPaidOrOwed(token, blocked, total);
        assertEq(_available(child, token), 0);
        assertEq(blk.balanceOf(address(manager)), manager.totalOwed(token));

        (bool ok, bytes memory ret) = _try(holder, abi.encodeCall(manager.claim, (token, payee)));
        if (blocked) {
            assertTrue(ok);
            assertEq(abi.decode(ret, (uint256)), total);
            assertEq(blk.balanceOf(payee), total);
        } else {
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(NothingToClaim.selector, holder, token));
        }
        assertEq(manager.totalOwed(token), 0);
        assertEq(blk.balanceOf(address(manager)), 0);
    }

    /// @dev The holder got `paid` in all so far, or, blocked, is owed it (and nothing else is owed).
    function _assertPaidOrOwed(address token, bool blocked, uint256 paid) internal view {
        assertEq(blk.balanceOf(holder), blocked ? 0 : paid);
        assertEq(manager.owed(holder, token), blocked ? paid : 0);
        assertEq(manager.totalOwed(token), blocked ? paid : 0);
    }

    /// @notice The root first (by `revoke` then `close`): its escrow goes to the holder; then C and G, in either
    /// order, both ended with their root: C pays the holder (the root settled to it); G pays C while C is unclosed
    /// (C is dead, but its escrow still settles upward), else the holder.
    function check_settlement_rootFirst() public {
        World memory w = _world();
        _must(holder, abi.encodeCall(manager.revoke, (w.ids[R])));
        _must(holder, abi.encodeCall(manager.close, (w.ids[R])));
        _settle(w, R);
        if (svm.createBool("childBeforeGrandchild")) {
            _end(w, C);
            _end(w, G);
        } else {
            _end(w, G);
            _end(w, C);
        }
    }

    /// @notice The child first (by `complete`): its escrow goes to R; then G, ended with C, skips its closed parent
    /// and goes to R; then R pays the holder.
    function check_settlement_childFirst() public {
        World memory w = _world();
        _end(w, C);
        _end(w, G);
        _end(w, R);
    }

    /// @notice The grandchild first (by `revoke` then `close`): its escrow goes to C; then C's to R; then R's to
    /// the holder.
    function check_settlement_grandchildFirst() public {
        World memory w = _world();
        _must(subAgent, abi.encodeCall(manager.revoke, (w.ids[G])));
        _must(subAgent, abi.encodeCall(manager.close, (w.ids[G])));
        _settle(w, G);
        _end(w, C);
        _end(w, R);
    }

    /// @notice Sessions left with no escrow settle all the same: R and C reserved everything down to G, so closing
    /// R and then C moves nothing, yet R's settlement still records its holder, and G's escrow, closed last, reaches
    /// the holder.
    function check_settlement_emptyEscrowsStillSettle() public {
        World memory w = _world(true);
        _end(w, R);
        _end(w, C);
        _end(w, G);
    }

    /// @dev The world of the order proofs, every escrow non-empty (empty ones: check_settlement_emptyEscrowsStillSettle).
    function _world() internal returns (World memory) {
        return _world(false);
    }

    /// @dev R (held by `holder`, agent `agent`) funded with `total`, C under R reserving `toChild` of it, G under C
    /// reserving `toGrandchild` of that: any split of any ETH escrow (up to 2^96 - 1, the most a session holds) in
    /// which each session keeps some, or, when `allToGrandchild`, the one where R and C pass everything on to G.
    function _world(bool allToGrandchild) internal returns (World memory w) {
        w.token = NATIVE;
        uint256 total = _escrowAmount(w.token, "total");
        uint256 toChild = _uint(128, "toChild");
        uint256 toGrandchild = _uint(128, "toGrandchild");
        if (allToGrandchild) vm.assume(0 < toGrandchild && toGrandchild == toChild && toChild == total);
        else vm.assume(0 < toGrandchild && toGrandchild < toChild && toChild < total);
        w.ids[R] = _root(w.token, total, 0, 0, 0);
        _must(owner, abi.encodeCall(manager.transferFrom, (owner, holder, w.ids[R])));
        w.ids[C] = abi.decode(
            _must(agent, abi.encodeCall(manager.spawnChild, (w.ids[R], _childParams(subAgent, w.token, toChild)))),
            (uint256)
        );
        w.ids[G] = abi.decode(
            _must(
                subAgent,
                abi.encodeCall(manager.spawnChild, (w.ids[C], _childParams(subSubAgent, w.token, toGrandchild)))
            ),
            (uint256)
        );
        w.available = [total - toChild, toChild - toGrandchild, toGrandchild];
        w.holderBefore = _balanceOf(w.token, holder);
        _assertWorld(w);
    }

    /// @dev Ends session `k`: `complete` while it is live (no ancestor closed), else `close`.
    function _end(World memory w, uint256 k) internal {
        bool live = !(k != R && w.closed[R]) && !(k == G && w.closed[C]);
        if (live) _must(holder, abi.encodeCall(manager.complete, (w.ids[k])));
        else _must(holder, abi.encodeCall(manager.close, (w.ids[k])));
        _settle(w, k);
    }

    /// @dev The model's settlement of `k`: its escrow goes to the nearest unclosed ancestor, else to the holder.
    function _settle(World memory w, uint256 k) internal {
        uint256 amount = w.available[k];
        w.available[k] = 0;
        w.closed[k] = true;
        // ancestors of G are C then R; of C, R; R has none
        if (k == G && !w.closed[C]) w.available[C] += amount;
        else if (k != R && !w.closed[R]) w.available[R] += amount;
        else w.paidOut += amount;
        _assertWorld(w);
    }

    function _assertWorld(World memory w) internal view {
        for (uint256 k; k < 3; ++k) {
            assertEq(_available(w.ids[k], w.token), w.available[k]);
        }
        assertEq(_balanceOf(w.token, holder), w.holderBefore + w.paidOut);
        // nothing created or lost: the manager holds the escrows plus what it owes
        assertEq(
            _held(w.token),
            w.available[R] + w.available[C] + w.available[G] + manager.totalOwed(w.token)
        );
    }
}
