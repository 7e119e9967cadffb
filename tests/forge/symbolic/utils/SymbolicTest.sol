// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SessionTest} from "../../utils/SessionTest.sol";

/// @notice halmos' symbolic-value cheatcodes (the `SVM` of halmos-cheatcodes, declared here: no package we can
/// install ships it).
interface SVM {
    function createUint(uint256 bits, string calldata name) external pure returns (uint256);
    function createBool(string calldata name) external pure returns (bool);
}

/// @notice The world of SessionTest (factory, a manager for `owner`, a USDC-like token, a target, clock at T0) for
/// halmos proofs: symbolic values, calls to the manager that never hide a revert, and builders for sessions whose
/// amounts are symbolic.
/// @dev halmos explores every path of a `check_` function and reports a path as a counterexample only when an
/// assertion fails; a path that reverts is dropped without a word. So every action on the manager goes through a
/// low-level call: `_try` returns the outcome and each proof asserts what must happen in both branches, and `_must`
/// asserts that a setup step succeeds, so it cannot quietly narrow the inputs either. Only views that cannot revert
/// (`remaining`, `getBudget`, `owed`, `totalOwed`, balances) are called directly. Inputs are narrowed only by
/// explicit `vm.assume`s, each stated in its proof.
abstract contract SymbolicTest is SessionTest {
    SVM internal constant svm = SVM(0xF3993A62377BCd56AE39D773740A5390411E8BC9);

    /// @dev Paid by the sessions' spends (an account without code).
    address internal payee = address(0x40000);

    /// @dev Concrete accounts: halmos models `makeAddr` keys as symbolic addresses, and Solady's ERC-721 derives
    /// storage slots from the holder's address, which halmos needs concrete. Funds for every escrow a session can
    /// hold (ETH: 2^96 - 1, in the token's ownership word; an ERC-20: 2^128 - 1) and for top-ups past it in total
    /// (halmos caps any ETH balance at 2^128; the ERC-20 goes beyond).
    function setUp() public virtual override {
        owner = address(0x10000);
        agent = address(0x20000);
        stranger = address(0x30000);
        super.setUp();
        vm.deal(owner, 1 << 128);
        usdc.mint(owner, 1 << 200);
    }

    /*//////////////////////////////////////////////////////////////
                               SYMBOLIC VALUES
    //////////////////////////////////////////////////////////////*/

    /// @dev A symbolic unsigned integer of `bits` bits.
    function _uint(uint256 bits, string memory name) internal pure returns (uint256) {
        return svm.createUint(bits, name);
    }

    /// @dev ETH or the ERC-20, symbolically: a proof over `_token()` holds for both.
    function _token(string memory name) internal view returns (address) {
        return svm.createBool(name) ? NATIVE : address(usdc);
    }

    /// @dev The most a session's unspent escrow of `token` can be: ETH's is the 96 spare bits of the session token's
    /// ownership word, an ERC-20's a 128-bit field of its budget word.
    function _maxEscrow(address token) internal view returns (uint256) {
        return token == NATIVE ? type(uint96).max : type(uint128).max;
    }

    /// @dev A symbolic escrow of `token`: any amount a session can hold of it (96 bits for ETH, 128 for an ERC-20;
    /// more is refused with AmountTooLarge, proved by SymbolicEscrow).
    function _escrowAmount(address token, string memory name) internal view returns (uint256) {
        return _uint(token == NATIVE ? 96 : 128, name);
    }

    /*//////////////////////////////////////////////////////////////
                                   CALLS
    //////////////////////////////////////////////////////////////*/

    /// @dev Calls the manager as `from` with `value` wei; returns whether it succeeded and its return/revert data.
    /// @dev halmos models the gas left as a fresh symbol at every GAS opcode, so a settlement could also take the
    /// path where the transaction was sent with too little gas for a payout's stipend (PayoutGasTooLow, proved by
    /// its own unit test). The proofs consider transactions sent with enough gas: that path is dropped here, the one
    /// narrowing every proof shares.
    function _try(address from, uint256 value, bytes memory data) internal returns (bool ok, bytes memory ret) {
        vm.prank(from);
        (ok, ret) = address(manager).call{value: value}(data);
        vm.assume(ok || ret.length < 4 || bytes4(ret) != PayoutGasTooLow.selector);
    }

    function _try(address from, bytes memory data) internal returns (bool ok, bytes memory ret) {
        return _try(from, 0, data);
    }

    /// @dev A step that must succeed for every input the proof considers.
    function _must(address from, uint256 value, bytes memory data) internal returns (bytes memory ret) {
        bool ok;
        (ok, ret) = _try(from, value, data);
        assertTrue(ok, "setup step reverted");
    }

    function _must(address from, bytes memory data) internal returns (bytes memory) {
        return _must(from, 0, data);
    }

    /// @dev The agent of `id` spends `amount` of `token`: an ETH call or an ERC-20 payment to `payee`.
    function _trySpend(address agent_, uint256 id, address token, uint256 amount)
        internal
        returns (bool ok, bytes memory ret)
    {
        if (token == NATIVE) return _try(agent_, abi.encodeCall(manager.execute, (id, payee, amount, "")));
        return _try(agent_, abi.encodeCall(manager.transferToken, (id, token, payee, amount)));
    }

    /*//////////////////////////////////////////////////////////////
                                  SESSIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev Parameters for `agent_` that last as long as a session can (expiry 2^32 - 1: expiries are 32-bit), any
    /// target, no budget.
    function _longParams(address agent_) internal pure returns (SessionParams memory p) {
        p.agent = agent_;
        p.expiry = type(uint32).max;
        p.anyTarget = true;
    }

    /// @dev Opens a root for `agent` as the owner, with one budget of `token`; must succeed.
    function _root(address token, uint256 amount, uint256 perCallCap, uint256 periodAllowance, uint32 period)
        internal
        returns (uint256 id)
    {
        SessionParams memory p = _withPeriod(_longParams(agent), period, 0);
        p = _withBudget(p, token, uint128(amount), uint128(perCallCap), uint128(periodAllowance));
        id = abi.decode(_must(owner, token == NATIVE ? amount : 0, abi.encodeCall(manager.createSession, (p))), (uint256));
    }

    /// @dev The params of a child for `agent_` with one budget of `amount` of `token` (no caps).
    function _childParams(address agent_, address token, uint256 amount) internal pure returns (SessionParams memory) {
        return _withBudget(_longParams(agent_), token, uint128(amount), 0, 0);
    }

    /*//////////////////////////////////////////////////////////////
                                   VIEWS
    //////////////////////////////////////////////////////////////*/

    function _available(uint256 id, address token) internal view returns (uint256) {
        return manager.remaining(id, token);
    }

    /// @dev Lifetime spending of an ERC-20 budget (an ETH budget keeps none on chain: its events carry every spend,
    /// and the ETH proofs follow `available` and balances instead).
    function _spent(uint256 id, address token) internal view returns (uint256) {
        return manager.getBudget(id, token).spent;
    }

    /// @dev What the manager holds of `token`.
    function _held(address token) internal view returns (uint256) {
        return token == NATIVE ? address(manager).balance : usdc.balanceOf(address(manager));
    }

    function _balanceOf(address token, address account) internal view returns (uint256) {
        return token == NATIVE ? account.balance : usdc.balanceOf(account);
    }
}
