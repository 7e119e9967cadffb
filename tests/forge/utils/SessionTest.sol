// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {ISessionTypes} from "../../../contracts/interfaces/ISessionTypes.sol";
import {SessionFactory} from "../../../contracts/SessionFactory.sol";
import {SessionManagerExtension} from "../../../contracts/SessionManagerExtension.sol";
import {SessionSignatures} from "../../../contracts/SessionSignatures.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";
import {Target} from "../../../contracts/test/Target.sol";

/// @notice The world every Solidity test starts from: a factory, one manager for `owner`, a plain ERC-20, a call
/// target, and builders for session parameters. Tests speak to the manager through IAgentSessions only, so the
/// whole ABI (hot half and extension) is one object.
abstract contract SessionTest is Test, ISessionTypes {
    address internal constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;
    /// @dev A fixed start time, so every run (and every gas figure) sees the same clock.
    uint256 internal constant T0 = 1_700_000_000;
    uint40 internal constant DAY = 1 days;

    SessionFactory internal factory;
    IAgentSessions internal manager;
    TestToken internal usdc;
    Target internal target;

    address internal owner = makeAddr("owner");
    address internal agent = makeAddr("agent");
    address internal stranger = makeAddr("stranger");

    function setUp() public virtual {
        vm.warp(T0);
        factory = new SessionFactory(address(new SessionManagerExtension(address(new SessionSignatures()))));
        vm.prank(owner);
        manager = IAgentSessions(payable(factory.deployManager(owner, bytes32(0))));
        usdc = new TestToken("USD Coin", "USDC", 6);
        target = new Target();
        vm.deal(owner, 1_000_000 ether);
        usdc.mint(owner, 1e30);
        vm.prank(owner);
        usdc.approve(address(manager), type(uint256).max);
    }

    /*//////////////////////////////////////////////////////////////
                               BUILDERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Parameters of an active session for `agent_` that lasts `ttl` seconds, with no budgets yet.
    function _params(address agent_, uint256 ttl) internal view returns (SessionParams memory p) {
        p.agent = agent_;
        p.expiry = uint40(block.timestamp + ttl);
        p.anyTarget = true;
    }

    /// @dev `p` with one more budget row.
    function _withBudget(
        SessionParams memory p,
        address token,
        uint128 amount,
        uint128 perCallCap,
        uint128 periodAllowance
    ) internal pure returns (SessionParams memory) {
        BudgetParams[] memory budgets = new BudgetParams[](p.budgets.length + 1);
        for (uint256 i; i < p.budgets.length; ++i) {
            budgets[i] = p.budgets[i];
        }
        budgets[p.budgets.length] = BudgetParams(token, amount, perCallCap, periodAllowance);
        p.budgets = budgets;
        return p;
    }

    /// @dev `p` with a period window of `period` seconds (needed by periodic allowances and call limits).
    function _withPeriod(SessionParams memory p, uint32 period, uint16 maxCalls)
        internal
        pure
        returns (SessionParams memory)
    {
        p.period = period;
        p.maxCallsPerPeriod = maxCalls;
        return p;
    }

    /// @dev The ETH a root must be sent for `p`.
    function _ethOf(SessionParams memory p) internal pure returns (uint256 eth) {
        for (uint256 i; i < p.budgets.length; ++i) {
            if (p.budgets[i].token == NATIVE) eth += p.budgets[i].amount;
        }
    }

    /// @dev Opens root session `p` as the manager owner (ETH and ERC-20 budgets funded by the owner).
    function _createRoot(SessionParams memory p) internal returns (uint256 id) {
        vm.prank(owner);
        id = manager.createSession{value: _ethOf(p)}(p);
    }

    /// @dev A root for `agent_` with `eth` wei and no caps, lasting 30 days.
    function _rootWithEth(address agent_, uint128 eth) internal returns (uint256) {
        return _createRoot(_withBudget(_params(agent_, 30 * DAY), NATIVE, eth, 0, 0));
    }

    /// @dev Spawns child `p` under `parentId`, sent by `spawner`.
    function _spawn(address spawner, uint256 parentId, SessionParams memory p) internal returns (uint256 id) {
        vm.prank(spawner);
        id = manager.spawnChild(parentId, p);
    }
}
