// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionTest} from "../utils/SessionTest.sol";
import {TestToken} from "../../../contracts/test/TestToken.sol";

/// @notice The unit tests' world: SessionTest plus a few more keys, a second escrowed token, the events of the
/// token surface and builders for allowlists, guards, drafts and children. Everything goes through the public
/// ABI (IAgentSessions), so the tests describe behaviour, not the contract internals.
abstract contract UnitBase is SessionTest {
    /// @dev ERC-721 (Solady) and ERC-4907 events of a manager, declared here to be expected.
    event Transfer(address indexed from, address indexed to, uint256 indexed id);
    event UpdateUser(uint256 indexed tokenId, address indexed user, uint64 expires);

    bytes4 internal constant ANY = 0xffffffff;
    bytes4 internal constant NO_SELECTOR = 0x00000000;
    uint8 internal constant MAX_DEPTH = 8;
    uint256 internal constant MAX_GUARDS = 4;

    address internal subAgent = makeAddr("subAgent");
    address internal subSubAgent = makeAddr("subSubAgent");
    address internal payee = makeAddr("payee");

    /// @dev A second plain ERC-20 (18 decimals) the owner holds and approved.
    TestToken internal dai;

    function setUp() public virtual override {
        super.setUp();
        dai = new TestToken("Dai", "DAI", 18);
        dai.mint(owner, 1e30);
        vm.prank(owner);
        dai.approve(address(manager), type(uint256).max);
    }

    /*//////////////////////////////////////////////////////////////
                               BUILDERS
    //////////////////////////////////////////////////////////////*/

    /// @dev `p` restricted to the allowlist entry `target_`/`selector` (no longer "any target").
    function _allow(SessionParams memory p, address target_, bytes4 selector)
        internal
        pure
        returns (SessionParams memory)
    {
        Permission[] memory perms = new Permission[](p.permissions.length + 1);
        for (uint256 i; i < p.permissions.length; ++i) {
            perms[i] = p.permissions[i];
        }
        perms[p.permissions.length] = Permission(target_, selector);
        p.permissions = perms;
        p.anyTarget = false;
        return p;
    }

    /// @dev `p` with no allowlist at all (not "any target" either).
    function _narrow(SessionParams memory p) internal pure returns (SessionParams memory) {
        p.anyTarget = false;
        return p;
    }

    /// @dev `p` with one more guard.
    function _withGuard(SessionParams memory p, address guard) internal pure returns (SessionParams memory) {
        address[] memory guards = new address[](p.guards.length + 1);
        for (uint256 i; i < p.guards.length; ++i) {
            guards[i] = p.guards[i];
        }
        guards[p.guards.length] = guard;
        p.guards = guards;
        return p;
    }

    /// @dev `p` opened in draft.
    function _asDraft(SessionParams memory p) internal pure returns (SessionParams memory) {
        p.draft = true;
        return p;
    }

    /// @dev `p` with an idle timeout.
    function _withIdle(SessionParams memory p, uint32 maxIdle) internal pure returns (SessionParams memory) {
        p.maxIdle = maxIdle;
        return p;
    }

    /// @dev `p` with a label.
    function _withLabel(SessionParams memory p, bytes32 label) internal pure returns (SessionParams memory) {
        p.label = label;
        return p;
    }

    /// @dev Parameters of a child for `agent_` that expires with its parent `parentId`.
    function _childParams(uint256 parentId, address agent_) internal view returns (SessionParams memory p) {
        p.agent = agent_;
        p.expiry = manager.getSession(parentId).expiry;
        p.anyTarget = true;
    }

    /// @dev A child of `parentId` for `agent_` holding `eth` wei, spawned by the parent's agent.
    function _childWithEth(uint256 parentId, address agent_, uint128 eth) internal returns (uint256) {
        SessionParams memory p = _withBudget(_childParams(parentId, agent_), NATIVE, eth, 0, 0);
        return _spawn(manager.getSession(parentId).agent, parentId, p);
    }

    /// @dev A root for `agent_` with `amount` of `token` (ERC-20) and no caps, lasting 30 days.
    function _rootWithToken(address agent_, address token, uint128 amount) internal returns (uint256) {
        return _createRoot(_withBudget(_params(agent_, 30 * DAY), token, amount, 0, 0));
    }

    /// @dev A one-element id list.
    function _ids(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    /// @dev A two-element id list.
    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
    }

    /// @dev A one-element allowlist.
    function _perms(address target_, bytes4 selector) internal pure returns (Permission[] memory perms) {
        perms = new Permission[](1);
        perms[0] = Permission(target_, selector);
    }

    /*//////////////////////////////////////////////////////////////
                               SHORTHANDS
    //////////////////////////////////////////////////////////////*/

    function _pay(uint256 id, address to, uint256 value) internal {
        vm.prank(manager.getSession(id).agent);
        manager.execute(id, to, value, "");
    }

    function _pause(uint256 id) internal {
        vm.prank(owner);
        manager.pause(id);
    }

    function _revoke(uint256 id) internal {
        vm.prank(owner);
        manager.revoke(id);
    }

    function _expectRevert(bytes memory err) internal {
        vm.expectRevert(err);
    }

    /*//////////////////////////////////////////////////////////////
                                 STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev The last id a session can have: ids are 32-bit (a parent id fits the core word).
    uint256 internal constant MAX_ID = type(uint32).max;

    /// @dev Sets the manager's session count (`_count`: slot 0, bits [160..191], next to `_owner` [0..159],
    /// `_pausedAll`, `_epoch` and `_revokedThrough`; see the layout in SessionStore) and checks the rest of the
    /// word is intact.
    function _setSessionCount(uint256 count) internal {
        (uint32 epoch, bool pausedAll) = manager.globalState();
        uint256 word = uint256(vm.load(address(manager), bytes32(0)));
        uint256 mask = uint256(type(uint32).max) << 160;
        vm.store(address(manager), bytes32(0), bytes32((word & ~mask) | (count << 160)));
        assertEq(manager.sessionCount(), count);
        assertEq(manager.owner(), owner);
        (uint32 epochAfter, bool pausedAllAfter) = manager.globalState();
        assertEq(epochAfter, epoch);
        assertEq(pausedAllAfter, pausedAll);
    }
}
