// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionTest} from "../utils/SessionTest.sol";
import {SessionTreeHandler} from "./SessionTreeHandler.sol";

/// @notice The world of the whole-tree invariant campaigns: one manager and the handler that drives it as every role.
abstract contract SessionTreeSetup is SessionTest {
    SessionTreeHandler internal handler;

    function setUp() public override {
        super.setUp();
        // the owner's key (forge-std's makeAddr("owner")), so the handler can sign the owner's grants
        handler = new SessionTreeHandler(manager, uint256(keccak256(abi.encodePacked("owner"))), target);
        targetContract(address(handler));
        // what the fuzzer calls (settleEverything only runs after a sequence, in afterInvariant)
        bytes4[] memory moves = new bytes4[](16);
        moves[0] = SessionTreeHandler.createRoot.selector;
        moves[1] = SessionTreeHandler.spawnChild.selector;
        moves[2] = SessionTreeHandler.fund.selector;
        moves[3] = SessionTreeHandler.execute.selector;
        moves[4] = SessionTreeHandler.executeBatch.selector;
        moves[5] = SessionTreeHandler.transferToken.selector;
        moves[6] = SessionTreeHandler.swap.selector;
        moves[7] = SessionTreeHandler.warp.selector;
        moves[8] = SessionTreeHandler.lifecycle.selector;
        moves[9] = SessionTreeHandler.edit.selector;
        moves[10] = SessionTreeHandler.ownerWide.selector;
        moves[11] = SessionTreeHandler.weather.selector;
        moves[12] = SessionTreeHandler.rotatedKeyStrikes.selector;
        moves[13] = SessionTreeHandler.agentEscalatesThroughChild.selector;
        moves[14] = SessionTreeHandler.signed.selector;
        moves[15] = SessionTreeHandler.signedExecute.selector;
        targetSelector(FuzzSelector(address(handler), moves));
    }

    /*//////////////////////////////////////////////////////////////
                               CHECKING
    //////////////////////////////////////////////////////////////*/

    /// @dev Fails with the first recorded break of `property` (every promise counts: none is excused).
    function _assertKept(bytes32 property) internal view {
        uint256 breaks = handler.broken(property);
        if (breaks != 0) {
            revert(string.concat(_name(property), " broken ", vm.toString(breaks), "x; first: ", handler.firstBreak(property)));
        }
    }

    function _name(bytes32 property) internal pure returns (string memory name) {
        uint256 len;
        while (len < 32 && property[len] != 0) len++;
        bytes memory b = new bytes(len);
        for (uint256 i; i < len; ++i) {
            b[i] = property[i];
        }
        name = string(b);
    }
}

/// @notice The README's promises, stated over the whole session tree, across time windows and after keys change
/// hands, checked after every call of random sequences that SessionTreeHandler drives as every role.
///
/// Each `invariant_` function is one promise (forge runs each as its own campaign). Promises about what one call
/// may do are recorded by the handler at the moment of the call (with the first break's details); promises about
/// state are read here from the chain and the handler's ghost.
contract SessionTreeInvariants is SessionTreeSetup {
    /*//////////////////////////////////////////////////////////////
                               PROMISES
    //////////////////////////////////////////////////////////////*/

    /// @notice 1. For every token, the manager holds exactly the unspent escrow of its sessions plus the payouts it
    /// owes, plus (ETH) the deposits signed grants draw on (ETH, a plain ERC-20, fee-on-transfer, blocklisting,
    /// false-returning and gas-burning tokens).
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: soak.invariant.runs = 8
    function invariant_escrowCoversEveryUnspentBudget() public view {
        for (uint256 t; t < handler.tokenCount(); ++t) {
            address token = handler.tokens(t);
            assertEq(
                handler.balanceOf(token, address(manager)),
                handler.openEscrow(token) + manager.totalOwed(token) + (t == 0 ? handler.depositTotal() : 0),
                "manager balance != unspent escrow of open sessions + owed payouts (+ deposits)"
            );
            // a closed session returned everything: it reads no escrow (ETH's lives in the burned token's word)
            assertEq(handler.closedEscrow(token), 0, "a closed session still reads escrow");
        }
        assertEq(manager.depositOf(handler.owner()), handler.deposited(handler.owner()), "owner's deposit");
        assertEq(manager.depositOf(handler.stranger()), handler.deposited(handler.stranger()), "stranger's deposit");
    }

    /// @notice 2. No single call made for a session moves more of a token than the per-call cap of that session or
    /// of any ancestor.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_perCallCapBindsEveryAncestor() public view {
        _assertKept(handler.PER_CALL());
    }

    /// @notice 3. Within any period window of any session, what left its subtree stays within its allowance.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_periodAllowanceBindsSubtree() public view {
        _assertKept(handler.PERIOD());
    }

    /// @notice 4. What left a session's subtree never exceeds what was funded into it (reservations and top-ups,
    /// plus swap proceeds credited inside it).
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: soak.invariant.runs = 8
    function invariant_subtreeSpendsNoMoreThanFundedInto() public view {
        (bool found, uint256 id, address token) = handler.overspentSubtree();
        if (found) revert(string.concat("subtree of session ", vm.toString(id), " spent more ", vm.toString(token), " than it was funded"));
    }

    /// @notice 5. Children never hold more than their parent reserved: the unspent escrow of every open session's
    /// subtree is exactly what entered it minus what left it (a refund stays inside, a reservation too).
    /// forge-config: ci.invariant.runs = 40
    /// forge-config: soak.invariant.runs = 8
    function invariant_childrenHoldExactlyWhatParentsReserved() public view {
        (bool found, uint256 id, address token, uint256 held, uint256 expected) = handler.subtreeMismatch();
        if (found) {
            revert(string.concat(
                "subtree of session ", vm.toString(id), " holds ", vm.toString(held), " of ", vm.toString(token),
                ", reserved and funded in minus spent is ", vm.toString(expected)
            ));
        }
    }

    /// @notice 6. An ended, paused or expired session, or one under such an ancestor (idle timeout, revoke-all and
    /// pause-all included), never spends, funds, spawns, or has a limit changed.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_endedPausedExpiredNeverAct() public view {
        _assertKept(handler.ENDED());
    }

    /// @notice 7. After `rotateAgent`, the old key changes nothing in the session or any descendant.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_rotatedKeyHasNoPower() public view {
        _assertKept(handler.ROTATION());
    }

    /// @notice 8a. A call limit counts every call made anywhere in the subtree, per window.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_callLimitCountsSubtree() public view {
        _assertKept(handler.CALLS());
    }

    /// @notice 9. Signed paths keep their word: a signature goes through once, a relay fee stays within the cap of the
    /// session and of every ancestor and is all the relayer gets, a grant draws exactly its ETH from the deposit, a
    /// spawn goes through only with the parent's agent's signature. (Signed executes, grants and spawns also answer
    /// to every other promise above, like the direct calls.)
    /// forge-config: ci.invariant.runs = 100
    /// forge-config: soak.invariant.runs = 20
    function invariant_signaturesKeepTheirWord() public view {
        _assertKept(handler.SIGNED());
    }

    /// @notice 8b. The executor holds nothing between transactions.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_executorHoldsNothing() public view {
        address executor = manager.executor();
        for (uint256 t; t < handler.tokenCount(); ++t) {
            assertEq(handler.balanceOf(handler.tokens(t), executor), 0, "executor holds funds");
        }
    }
}

/// @notice Settlement as a promise of its own: after any sequence, ending and closing everything (each close within
/// one transaction's gas) and claiming every deferred payout leaves nothing in the manager or the executor.
contract SettlementInvariants is SessionTreeSetup {
    /// @notice Every step of the sequence is checked by afterInvariant once the sequence ends.
    /// forge-config: ci.invariant.runs = 270
    /// forge-config: soak.invariant.runs = 54
    function invariant_settlingEverythingLeavesNothing() public pure {}

    /// @notice After every sequence: everything ends and is closed (each close within one transaction's gas), every
    /// deferred payout is claimed, and then nothing is left in the manager or the executor.
    function afterInvariant() public {
        handler.settleEverything();
        _assertKept(handler.CLOSE());
        address executor = manager.executor();
        for (uint256 t; t < handler.tokenCount(); ++t) {
            address token = handler.tokens(t);
            assertEq(handler.balanceOf(token, address(manager)), 0, "funds left in the manager after settling all");
            assertEq(handler.balanceOf(token, executor), 0, "funds left in the executor after settling all");
        }
    }
}
