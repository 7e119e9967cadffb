// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionTreeSetup} from "./SessionTreeInvariants.t.sol";

/// @notice Guards the campaigns against passing vacuously: fixed pseudo-random sequences of the moves the fuzzer
/// makes, as long as a `make test` sequence, must build deep trees and get every kind of spend through. If a change
/// to the contracts or the handler makes these moves revert (every invariant would then hold over an empty world),
/// this fails.
contract HandlerReachTest is SessionTreeSetup {
    string[10] internal ops = [
        "spawnChild",
        "fund",
        "execute",
        "executeBatch",
        "transferToken",
        "swap",
        "executeWithSig",
        "createSessionWithSig",
        "spawnChildWithSig",
        "relayFee"
    ];

    function test_movesBuildDeepTreesAndSpendThroughThem() public {
        uint256[10] memory done;
        uint256 deepest;
        uint256 start = vm.snapshotState();
        for (uint256 run; run < 12; ++run) {
            _sequence(run, 500);
            for (uint256 j; j < ops.length; ++j) {
                done[j] += handler.succeeded(ops[j]);
            }
            if (handler.deepest() > deepest) deepest = handler.deepest();
            vm.revertToState(start);
            start = vm.snapshotState();
        }
        for (uint256 j; j < ops.length; ++j) {
            emit log_named_uint(ops[j], done[j]);
        }
        emit log_named_uint("deepest", deepest);
        assertGe(deepest, 4, "trees reach depth 4");
        assertGe(done[0], 100, "spawns went through");
        assertGe(done[1], 100, "top-ups went through");
        assertGe(done[2], 60, "executes went through");
        assertGe(done[3], 30, "batches went through");
        assertGe(done[4], 60, "token payments went through");
        assertGe(done[5], 10, "swaps went through");
        assertGe(done[6], 20, "signed executes went through");
        assertGe(done[7], 5, "signed grants went through");
        assertGe(done[8], 10, "signed spawns went through");
        assertGe(done[9], 5, "relay fees were paid");
    }

    /// @dev `moves` moves drawn from `run`, weighted like the fuzzer's targets (one per group).
    function _sequence(uint256 run, uint256 moves) internal {
        for (uint256 i; i < moves; ++i) {
            uint256 r = uint256(keccak256(abi.encode("reach", run, i)));
            uint256 k = r % 16;
            if (k == 0) handler.createRoot(r >> 4, [uint128(r >> 10), uint128(r >> 20), uint128(r >> 40)], [uint128(r >> 60), uint128(r >> 80), uint128(r >> 100)], uint32(r >> 130));
            else if (k == 1) handler.spawnChild(r >> 4, r >> 128, [uint128(r >> 9), uint128(r >> 64)], [uint128(r >> 32), uint128(r >> 96)], uint32(r >> 200));
            else if (k == 2) handler.fund(r >> 4, r >> 100, uint128(r >> 30));
            else if (k == 3) handler.execute(r >> 4, r >> 120, r >> 7, r % 2 == 0);
            else if (k == 4) handler.executeBatch(r >> 4, r >> 120, [r >> 1, r >> 2, r >> 3], uint8(r >> 4));
            else if (k == 5) handler.transferToken(r >> 4, r >> 120, r >> 7, uint8(r >> 99));
            else if (k == 6) handler.swap(r >> 4, r >> 120, r >> 7, uint8(r >> 99));
            else if (k == 7) handler.warp(uint8(r >> 3), uint32(r >> 50));
            else if (k == 8) handler.lifecycle(uint8(r >> 5), r >> 9, r >> 100);
            else if (k == 9) handler.edit(uint8(r >> 5), r >> 9, r >> 100, uint128(r >> 20), uint128(r >> 150));
            else if (k == 10) handler.ownerWide(uint8(r >> 5), r % 3 == 0, r >> 40);
            else if (k == 11) handler.rotatedKeyStrikes(r >> 4, uint8(r >> 30), uint128(r >> 40));
            else if (k == 12) handler.agentEscalatesThroughChild(r >> 4, uint8(r >> 30), uint8(r >> 40), uint32(r >> 50));
            else if (k == 13) handler.signed(uint8(r >> 5), r >> 9, r >> 100, r >> 7, uint128(r >> 30));
            else if (k == 14) handler.signedExecute(r >> 4, r >> 120, r >> 7, uint128(r >> 30));
            // the tokens' weather is left out: a gas burner would swallow this test's single gas budget
            else handler.warp(uint8(r >> 3), uint32(r >> 50));
        }
    }
}
