// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {UnitBase} from "./UnitBase.sol";

/// @notice spawnChild / spawnChildren: reservations out of the parent, who may spawn, what a child may ask for.
contract SpawnTest is UnitBase {
    /*//////////////////////////////////////////////////////////////
                               RESERVATION
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_reservesTheBudgetOutOfTheParent() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        uint256 child = _childWithEth(root, subAgent, 4 ether);
        assertEq(manager.remaining(root, NATIVE), 6 ether);
        assertEq(manager.remaining(child, NATIVE), 4 ether);
        // a reservation is not spending
        assertEq(manager.getBudget(root, NATIVE).spent, 0);
        assertEq(address(manager).balance, 10 ether);
    }

    function testFuzz_spawnChild_ethReservationMovesExactlyTheAmount(uint96 budget, uint96 amount) public {
        budget = uint96(bound(budget, 0, 1e24));
        amount = uint96(bound(amount, 0, 1e24));
        uint256 root = _rootWithEth(agent, budget);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, amount, 0, 0);
        if (amount > budget) {
            vm.prank(agent);
            vm.expectRevert(
                abi.encodeWithSelector(BudgetExceeded.selector, root, NATIVE, uint256(amount), uint256(budget))
            );
            manager.spawnChild(root, p);
            assertEq(manager.remaining(root, NATIVE), budget);
            return;
        }
        uint256 child = _spawn(agent, root, p);
        // the parent's escrow goes down by exactly what the child's goes up; no ETH moves
        assertEq(manager.remaining(root, NATIVE), budget - amount);
        assertEq(manager.remaining(child, NATIVE), amount);
        assertEq(address(manager).balance, budget);
        // each escrow sits in its own token's word, next to its holder
        assertEq(manager.ownerOf(root), owner);
        assertEq(manager.ownerOf(child), agent);
        assertEq(manager.getSession(child).parentId, root);
    }

    function test_spawnChild_ethReservationOfAGrandchildMovesOnlyItsParent() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        uint256 child = _childWithEth(root, subAgent, 4 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1.5 ether);
        assertEq(manager.remaining(root, NATIVE), 6 ether);
        assertEq(manager.remaining(child, NATIVE), 2.5 ether);
        assertEq(manager.remaining(grandchild, NATIVE), 1.5 ether);
        // spending by the grandchild comes out of its own escrow only
        _pay(grandchild, payee, 1 ether);
        assertEq(manager.remaining(root, NATIVE), 6 ether);
        assertEq(manager.remaining(child, NATIVE), 2.5 ether);
        assertEq(manager.remaining(grandchild, NATIVE), 0.5 ether);
        assertEq(address(manager).balance, 9 ether);
        assertEq(payee.balance, 1 ether);
    }

    function test_spawnChild_emitsFundedFromNobodyThenMintAndCreated() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        SessionParams memory p = _withLabel(_withBudget(_childParams(root, subAgent), NATIVE, 1 ether, 0, 0), "sub");
        vm.expectEmit(address(manager));
        emit SessionFunded(2, NATIVE, address(0), 1 ether);
        vm.expectEmit(address(manager));
        emit Transfer(address(0), agent, 2);
        vm.expectEmit(address(manager));
        emit SessionCreated(2, root, subAgent, agent, p.expiry, "sub", Status.Active);
        vm.expectEmit(address(manager));
        emit UpdateUser(2, subAgent, uint64(p.expiry));
        _spawn(agent, root, p);
    }

    function test_spawnChild_recordsParentAndDepth() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        uint256 grandchild = _childWithEth(child, subSubAgent, 1);
        SessionInfo memory s = manager.getSession(grandchild);
        assertEq(s.parentId, child);
        assertEq(s.depth, 2);
        assertEq(s.agent, subSubAgent);
        assertEq(s.holder, subAgent);
    }

    function test_spawnChild_reservesErc20OutOfTheParent() public {
        uint256 root = _rootWithToken(agent, address(usdc), 100e6);
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), address(usdc), 25e6, 0, 0));
        assertEq(manager.remaining(root, address(usdc)), 75e6);
        assertEq(manager.remaining(child, address(usdc)), 25e6);
        assertEq(usdc.balanceOf(address(manager)), 100e6);
    }

    function test_spawnChild_revertsWhenEthExceedsParentAvailable() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 1 ether + 1, 0, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, root, NATIVE, 1 ether + 1, 1 ether));
        manager.spawnChild(root, p);
    }

    function test_spawnChild_revertsForATokenTheParentLacks() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), address(usdc), 1, 0, 0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NoBudgetRow.selector, root, address(usdc)));
        manager.spawnChild(root, p);
    }

    /// @notice Promise (F1): a reservation only sets money aside; the parent's per-call cap binds every call of
    /// the child instead, at execution time.
    function test_parentsPerCallCapBindsEachCallOfTheChild() public {
        uint256 root = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 2 ether, 0, 0);
        uint256 child = _spawn(agent, root, p);
        assertEq(manager.remaining(child, NATIVE), 2 ether);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, root, NATIVE, 2 ether, 1 ether));
        manager.execute(child, address(target), 2 ether, "");
        _pay(child, address(target), 1 ether);
        assertEq(manager.remaining(child, NATIVE), 1 ether);
    }

    /// @notice Promise (F1, the review's exploit): an agent that spawns a child for its own key and tops it up in
    /// slices within its cap still cannot pay more than its cap in one call from the child.
    function test_perCallCapIsNotShedThroughASelfChildToppedUpInSlices() public {
        uint256 root = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 0.1 ether, 0));
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, agent), NATIVE, 0.1 ether, 0, 0));
        for (uint256 i; i < 4; ++i) {
            vm.prank(agent);
            manager.fund(child, NATIVE, 0.1 ether);
        }
        assertEq(manager.remaining(child, NATIVE), 0.5 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, root, NATIVE, 0.5 ether, 0.1 ether));
        manager.execute(child, address(target), 0.5 ether, "");
    }

    /// @notice `check` answers with the ancestor's cap too: nothing is sent for a call that would revert.
    function test_checkOfAChildAnswersWithTheParentsPerCallCap() public {
        uint256 root = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), NATIVE, 5 ether, 0, 0));
        (bool ok, bytes memory reason) = manager.check(child, subAgent, address(target), 2 ether, "");
        assertFalse(ok);
        assertEq(reason, abi.encodeWithSelector(PerCallCapExceeded.selector, root, NATIVE, 2 ether, 1 ether));
        (ok,) = manager.check(child, subAgent, address(target), 1 ether, "");
        assertTrue(ok);
    }

    /// @notice Promise: every ancestor's cap binds, not only the parent's: a grandchild is held to the root's.
    function test_everyAncestorsPerCallCapBinds() public {
        uint256 root = _createRoot(_withBudget(_params(agent, DAY), NATIVE, 10 ether, 1 ether, 0));
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), NATIVE, 5 ether, 3 ether, 0));
        address grandAgent = makeAddr("grandAgent");
        uint256 grand = _spawn(subAgent, child, _withBudget(_childParams(child, grandAgent), NATIVE, 4 ether, 0, 0));
        vm.prank(grandAgent);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, root, NATIVE, 2 ether, 1 ether));
        manager.execute(grand, address(target), 2 ether, "");
        vm.prank(grandAgent);
        manager.execute(grand, address(target), 1 ether, "");
    }

    /// @notice Promise (F2): within any period window, what the root's whole subtree spends stays within the
    /// root's allowance, however much was reserved into children across earlier windows.
    function test_periodAllowanceIsNotBankedInAChild() public {
        SessionParams memory rp = _withPeriod(_params(agent, 30 * DAY), 1 days, 0);
        uint256 root = _createRoot(_withBudget(rp, NATIVE, 10 ether, 0, 0.2 ether));
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, agent), NATIVE, 0.2 ether, 0, 0));
        for (uint256 day = 1; day < 3; ++day) {
            vm.warp(T0 + day * 1 days);
            vm.prank(agent);
            manager.fund(child, NATIVE, 0.2 ether);
        }
        // reserving is not spending: the whole allowance of this window is still there
        assertEq(manager.remaining(child, NATIVE), 0.6 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, root, NATIVE, 0.6 ether, 0.2 ether));
        manager.execute(child, address(target), 0.6 ether, "");
        // the child and the root share the root's window
        vm.prank(agent);
        manager.execute(child, address(target), 0.15 ether, "");
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, root, NATIVE, 0.1 ether, 0.05 ether));
        manager.execute(root, address(target), 0.1 ether, "");
        assertEq(manager.getBudget(root, NATIVE).spentInPeriod, 0.15 ether);
        // the next window has the whole allowance again
        vm.warp(T0 + 3 days);
        vm.prank(agent);
        manager.execute(child, address(target), 0.2 ether, "");
    }

    function test_parentCannotSpendWhatAChildReserved() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        _childWithEth(root, subAgent, 2 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, root, NATIVE, 2 ether, 1 ether));
        manager.execute(root, address(target), 2 ether, "");
    }

    function test_childSpendsOnlyItsOwnReservation() public {
        uint256 root = _rootWithEth(agent, 3 ether);
        uint256 child = _childWithEth(root, subAgent, 1 ether);
        _pay(child, address(target), 1 ether);
        assertEq(address(target).balance, 1 ether);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, child, NATIVE, 1, 0));
        manager.execute(child, address(target), 1, "");
        assertEq(manager.remaining(root, NATIVE), 2 ether);
    }

    function testFuzz_spawnChild_reservesExactlyWhatItAsks(uint128 parentAmount, uint128 childAmount) public {
        parentAmount = uint128(bound(parentAmount, 0, 1e23));
        childAmount = uint128(bound(childAmount, 0, 1e23));
        uint256 root = _rootWithEth(agent, parentAmount);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, childAmount, 0, 0);
        if (childAmount > parentAmount) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    BudgetExceeded.selector, root, NATIVE, uint256(childAmount), uint256(parentAmount)
                )
            );
        }
        vm.prank(agent);
        uint256 child = manager.spawnChild(root, p);
        if (childAmount <= parentAmount) {
            assertEq(manager.remaining(root, NATIVE) + manager.remaining(child, NATIVE), parentAmount);
            assertEq(manager.remaining(child, NATIVE), childAmount);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 WHO SPAWNS
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_byParentAgentGivesItTheToken() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 1);
        assertEq(manager.ownerOf(child), agent);
        assertTrue(manager.isController(child, agent));
        assertTrue(manager.isController(child, owner));
        assertFalse(manager.isController(child, subAgent));
    }

    function test_spawnChild_byRootHolderGivesItTheToken() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _spawn(owner, root, _childParams(root, subAgent));
        assertEq(manager.ownerOf(child), owner);
    }

    function test_spawnChild_byAncestorHolderUnderAGrandchild() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 1);
        uint256 grandchild = _spawn(owner, child, _childParams(child, subSubAgent));
        assertEq(manager.ownerOf(grandchild), owner);
        assertEq(manager.getSession(grandchild).parentId, child);
    }

    function test_spawnChild_revertsForStranger() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _childParams(root, subAgent);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, stranger));
        manager.spawnChild(root, p);
    }

    function test_spawnChild_revertsForAChildAgentUnderItsParent() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        _childWithEth(root, subAgent, 1);
        SessionParams memory p = _childParams(root, subSubAgent);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, subAgent));
        manager.spawnChild(root, p);
    }

    function test_spawnChild_revertsForUnknownParent() public {
        SessionParams memory p = _params(subAgent, DAY);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 5));
        manager.spawnChild(5, p);
    }

    function test_spawnChild_revertsWithZeroAgent() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _childParams(root, address(0));
        vm.prank(agent);
        vm.expectRevert(ZeroAgent.selector);
        manager.spawnChild(root, p);
    }

    function test_spawnChild_revertsWhenCallLimitHasNoPeriod() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _withPeriod(_childParams(root, subAgent), 0, 1);
        vm.prank(agent);
        vm.expectRevert(PeriodRequired.selector);
        manager.spawnChild(root, p);
    }

    /*//////////////////////////////////////////////////////////////
                           PARENT MUST BE ABLE TO ACT
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_revertsWhenParentPaused() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        _pause(root);
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
    }

    function test_spawnChild_revertsWhenParentIsADraft() public {
        uint256 root = _createRoot(_asDraft(_params(agent, DAY)));
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Draft));
    }

    function test_spawnChild_revertsWhenParentRevoked() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        _revoke(root);
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Revoked));
    }

    function test_spawnChild_revertsWhenParentExpired() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        vm.warp(T0 + 30 * DAY);
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Expired));
    }

    function test_spawnChild_revertsWhenParentIdledOut() public {
        uint256 root = _createRoot(_withIdle(_params(agent, DAY), 60));
        vm.warp(T0 + 60);
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Expired));
    }

    function test_spawnChild_revertsWhilePausedAll() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.pauseAll();
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
    }

    function test_spawnChild_revertsAfterRevokeAll() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.revokeAll();
        _expectSpawnRevert(root, abi.encodeWithSelector(SessionNotActive.selector, root, Status.Revoked));
    }

    function test_spawnChild_revertsWhenGrandparentRevoked() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 1);
        _revoke(root);
        SessionParams memory p = _childParams(child, subSubAgent);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, child, Status.Revoked));
        manager.spawnChild(child, p);
    }

    function test_spawnChild_revertsWhenGrandparentPaused() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 1);
        _pause(root);
        SessionParams memory p = _childParams(child, subSubAgent);
        vm.prank(subAgent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, child, Status.Paused));
        manager.spawnChild(child, p);
    }

    /*//////////////////////////////////////////////////////////////
                             DEPTH AND EXPIRY
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_eightLevelsDeepThenTheNinthReverts() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        for (uint256 level = 1; level <= MAX_DEPTH; ++level) {
            id = _spawn(agent, id, _childParams(id, agent));
            assertEq(manager.getSession(id).depth, level);
        }
        SessionParams memory p = _childParams(id, agent);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(DepthExceeded.selector, id, MAX_DEPTH));
        manager.spawnChild(id, p);
    }

    function test_spawnChild_expiryMayEqualTheParents() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        assertEq(manager.getSession(child).expiry, manager.getSession(root).expiry);
    }

    function test_spawnChild_revertsWhenExpiryExceedsTheParents() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _childParams(root, subAgent);
        uint40 parentExpiry = p.expiry;
        p.expiry += 1;
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ExpiryExceedsParent.selector, root, parentExpiry + 1, parentExpiry));
        manager.spawnChild(root, p);
    }

    function test_spawnChild_revertsWithExpiryPast32Bits() public {
        SessionParams memory rp = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        rp.expiry = type(uint32).max;
        uint256 root = _createRoot(rp);
        SessionParams memory p = _childParams(root, subAgent);
        uint40 tooLate = uint40(type(uint32).max) + 1;
        p.expiry = tooLate;
        // reported as too late for any session (before "later than the parent")
        _expectSpawnRevert(root, p, abi.encodeWithSelector(ExpiryTooLate.selector, tooLate, uint40(type(uint32).max)));
        assertEq(manager.sessionCount(), 1);
    }

    function test_spawnChild_acceptsTheLast32BitExpiryUnderAParentWithIt() public {
        SessionParams memory rp = _withBudget(_params(agent, DAY), NATIVE, 1 ether, 0, 0);
        rp.expiry = type(uint32).max;
        uint256 root = _createRoot(rp);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 0.5 ether, 0, 0);
        assertEq(p.expiry, type(uint32).max);
        uint256 child = _spawn(agent, root, p);
        SessionInfo memory s = manager.getSession(child);
        assertEq(s.expiry, type(uint32).max);
        assertEq(s.parentId, root);
        assertEq(s.depth, 1);
        assertEq(uint8(s.status), uint8(Status.Active));
        vm.warp(uint256(type(uint32).max) - 1);
        _pay(child, payee, 0.5 ether);
        assertEq(payee.balance, 0.5 ether);
    }

    function test_spawnChild_revertsWithExpiryInThePast() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _childParams(root, subAgent);
        p.expiry = uint40(T0);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ExpiryInPast.selector, uint40(T0), uint40(T0)));
        manager.spawnChild(root, p);
    }

    /*//////////////////////////////////////////////////////////////
                               PERMISSIONS
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_mayTakeASubsetOfTheParentsPermissions() public {
        SessionParams memory rp = _allow(_params(agent, DAY), address(target), target.ping.selector);
        rp = _allow(rp, payee, NO_SELECTOR);
        uint256 root = _createRoot(rp);
        uint256 child = _spawn(agent, root, _allow(_childParams(root, subAgent), payee, NO_SELECTOR));
        assertTrue(manager.isAllowed(child, payee, NO_SELECTOR));
        assertFalse(manager.isAllowed(child, address(target), target.ping.selector));
    }

    function test_spawnChild_revertsForASelectorTheParentLacks() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), target.ping.selector));
        _expectSpawnRevert(
            root,
            _allow(_childParams(root, subAgent), address(target), target.other.selector),
            abi.encodeWithSelector(PermissionNotInParent.selector, root, address(target), target.other.selector)
        );
    }

    function test_spawnChild_revertsForATargetTheParentLacks() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), target.ping.selector));
        _expectSpawnRevert(
            root,
            _allow(_childParams(root, subAgent), payee, target.ping.selector),
            abi.encodeWithSelector(PermissionNotInParent.selector, root, payee, target.ping.selector)
        );
    }

    function test_spawnChild_revertsForAnyTargetUnderANarrowParent() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), ANY));
        _expectSpawnRevert(
            root,
            _childParams(root, subAgent),
            abi.encodeWithSelector(PermissionNotInParent.selector, root, address(0), ANY)
        );
    }

    function test_spawnChild_revertsForTheEveryTargetEntryUnderANarrowParent() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), ANY));
        _expectSpawnRevert(
            root,
            _allow(_childParams(root, subAgent), address(0), ANY),
            abi.encodeWithSelector(PermissionNotInParent.selector, root, address(0), ANY)
        );
    }

    function test_spawnChild_revertsForAnySelectorUnderAnExactSelectorParent() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), target.ping.selector));
        _expectSpawnRevert(
            root,
            _allow(_childParams(root, subAgent), address(target), ANY),
            abi.encodeWithSelector(PermissionNotInParent.selector, root, address(target), ANY)
        );
    }

    function test_spawnChild_underAnAnySelectorParentMayTakeAnyOrExact() public {
        uint256 root = _createRoot(_allow(_params(agent, DAY), address(target), ANY));
        SessionParams memory p = _allow(_childParams(root, subAgent), address(target), ANY);
        p = _allow(p, address(target), target.ping.selector);
        uint256 child = _spawn(agent, root, p);
        assertTrue(manager.isAllowed(child, address(target), target.other.selector));
    }

    function test_spawnChild_underAnAnyTargetParentMayTakeAnything() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _spawn(agent, root, _allow(_childParams(root, subAgent), payee, NO_SELECTOR));
        uint256 wide = _spawn(agent, root, _childParams(root, subAgent));
        assertTrue(manager.isAllowed(child, payee, NO_SELECTOR));
        assertTrue(manager.getSession(wide).anyTarget);
    }

    /*//////////////////////////////////////////////////////////////
                              SESSION LIMIT
    //////////////////////////////////////////////////////////////*/

    function test_spawnChild_takesTheLastIdThenSessionLimitReached() public {
        _setSessionCount(MAX_ID - 2);
        uint256 root = _rootWithEth(agent, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 0.25 ether);
        assertEq(root, MAX_ID - 1);
        assertEq(child, MAX_ID);
        // the parent id fills the core word's top 32 bits
        SessionInfo memory s = manager.getSession(child);
        assertEq(s.parentId, MAX_ID - 1);
        assertEq(s.depth, 1);
        assertEq(s.agent, subAgent);
        _pay(child, payee, 0.25 ether);
        assertEq(payee.balance, 0.25 ether);
        // no id is left for another child
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 0.25 ether, 0, 0);
        _expectSpawnRevert(root, p, abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        assertEq(manager.remaining(root, NATIVE), 0.75 ether);
        assertEq(manager.sessionCount(), MAX_ID);
    }

    function test_spawnChildren_revertsAsAWholeWhenTheBatchWouldPassTheLastId() public {
        _setSessionCount(MAX_ID - 2);
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams[] memory ps = new SessionParams[](2);
        ps[0] = _withBudget(_childParams(root, subAgent), NATIVE, 0.25 ether, 0, 0);
        ps[1] = ps[0];
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionLimitReached.selector, MAX_ID));
        manager.spawnChildren(root, ps);
        assertEq(manager.remaining(root, NATIVE), 1 ether);
        assertEq(manager.sessionCount(), MAX_ID - 1);
    }

    /*//////////////////////////////////////////////////////////////
                              spawnChildren
    //////////////////////////////////////////////////////////////*/

    function test_spawnChildren_opensConsecutiveChildrenAndReturnsTheFirst() public {
        uint256 root = _rootWithEth(agent, 10 ether);
        SessionParams[] memory ps = new SessionParams[](3);
        for (uint256 i; i < 3; ++i) {
            ps[i] = _withBudget(_childParams(root, subAgent), NATIVE, 1 ether, 0, 0);
        }
        vm.prank(agent);
        uint256 first = manager.spawnChildren(root, ps);
        assertEq(first, 2);
        assertEq(manager.sessionCount(), 4);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.getSession(first + i).parentId, root);
            assertEq(manager.remaining(first + i, NATIVE), 1 ether);
        }
        assertEq(manager.remaining(root, NATIVE), 7 ether);
    }

    function test_spawnChildren_overBudgetRevertsTheWholeBatch() public {
        uint256 root = _rootWithEth(agent, 2 ether);
        SessionParams[] memory ps = new SessionParams[](3);
        for (uint256 i; i < 3; ++i) {
            ps[i] = _withBudget(_childParams(root, subAgent), NATIVE, 1 ether, 0, 0);
        }
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, root, NATIVE, 1 ether, 0));
        manager.spawnChildren(root, ps);
        assertEq(manager.sessionCount(), 1);
        assertEq(manager.remaining(root, NATIVE), 2 ether);
    }

    function test_spawnChildren_revertsForStranger() public {
        uint256 root = _rootWithEth(agent, 2 ether);
        SessionParams[] memory ps = new SessionParams[](1);
        ps[0] = _childParams(root, subAgent);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotAgentOrController.selector, root, stranger));
        manager.spawnChildren(root, ps);
    }

    function test_spawnChildren_revertsWhenParentPaused() public {
        uint256 root = _rootWithEth(agent, 2 ether);
        _pause(root);
        SessionParams[] memory ps = new SessionParams[](1);
        ps[0] = _childParams(root, subAgent);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, root, Status.Paused));
        manager.spawnChildren(root, ps);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _expectSpawnRevert(uint256 parentId, bytes memory err) internal {
        SessionParams memory p = _params(subAgent, 1);
        vm.prank(agent);
        vm.expectRevert(err);
        manager.spawnChild(parentId, p);
    }

    function _expectSpawnRevert(uint256 parentId, SessionParams memory p, bytes memory err) internal {
        vm.prank(agent);
        vm.expectRevert(err);
        manager.spawnChild(parentId, p);
    }
}
