// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IAgentSessions} from "../../../contracts/interfaces/IAgentSessions.sol";
import {UnitBase} from "./UnitBase.sol";
import {SessionTypedData} from "../utils/SessionTypedData.sol";

/// @dev A contract wallet (ERC-1271) whose one key signs for it; it can be told to answer wrongly or to revert.
contract KeyWallet is IERC1271 {
    enum Mode {
        Honest,
        WrongMagic,
        Reverts
    }

    address public immutable key;
    Mode public mode;

    constructor(address key_) {
        key = key_;
    }

    function setMode(Mode m) external {
        mode = m;
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        if (mode == Mode.Reverts) revert("wallet says no");
        if (mode == Mode.WrongMagic) return 0xdeadbeef;
        (uint8 v, bytes32 r, bytes32 s) = (uint8(signature[64]), bytes32(signature[:32]), bytes32(signature[32:64]));
        return ecrecover(digest, v, r, s) == key ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    /// @dev Runs `data` on `to` as the wallet (e.g. a manager's owner-only functions).
    function run(address to, uint256 value, bytes calldata data) external payable {
        (bool ok, bytes memory answer) = to.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(answer, 32), mload(answer))
            }
        }
    }

    receive() external payable {}
}

/// @dev A relayer that calls back into the manager when it is paid.
contract ReenteringRelayer {
    IAgentSessions internal immutable manager;
    bytes internal again;

    constructor(IAgentSessions manager_) {
        manager = manager_;
    }

    function relay(bytes calldata call_, bytes calldata reentry) external {
        again = reentry;
        (bool ok, bytes memory answer) = address(manager).call(call_);
        if (!ok) {
            assembly {
                revert(add(answer, 32), mload(answer))
            }
        }
    }

    /// @dev What the manager answered the reentry (kept: the fee payment goes on).
    bytes public reentryAnswer;
    bool public reentered;

    receive() external payable {
        (bool ok, bytes memory answer) = address(manager).call(again);
        (reentered, reentryAnswer) = (ok, answer);
    }
}

/// @notice The wallet door: grants the owner signs, children a parent's agent signs, executes an agent signs, each
/// submitted by someone else; and every way a signature can be wrong, each refused with its exact error and
/// nothing moved.
contract SignaturesTest is UnitBase {
    string internal constant BUDGET_DEF =
        "BudgetParams(address token,uint128 amount,uint128 perCallCap,uint128 periodAllowance)";
    string internal constant PERMISSION_DEF = "Permission(address target,bytes4 selector)";
    string internal constant PARAMS_DEF = "SessionParams(address agent,uint40 expiry,uint32 maxIdle,uint32 period,"
        "uint16 maxCallsPerPeriod,bool draft,bool anyTarget,bytes32 label,BudgetParams[] budgets,"
        "Permission[] permissions,address[] guards)";

    uint256 internal ownerKey = uint256(keccak256(abi.encodePacked("owner")));
    uint256 internal agentKey = uint256(keccak256(abi.encodePacked("agent")));
    uint256 internal subAgentKey = uint256(keccak256(abi.encodePacked("subAgent")));
    uint256 internal strangerKey = uint256(keccak256(abi.encodePacked("stranger")));
    address internal relayer = makeAddr("relayer");

    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    function setUp() public override {
        super.setUp();
        assertEq(owner, vm.addr(ownerKey));
        assertEq(agent, vm.addr(agentKey));
        vm.prank(owner);
        manager.deposit{value: 100 ether}();
    }

    /*//////////////////////////////////////////////////////////////
                      DIGESTS (tests/forge/utils/SessionTypedData)
    //////////////////////////////////////////////////////////////*/

    /// @dev The test's encoder agrees with forge's own EIP-712 type hashing (references given in another order: forge
    /// sorts them), so its digests are independent of the contract's constants.
    function test_typeHashesAreForgesEIP712TypeHashes() public {
        assertEq(
            SessionTypedData.grantType(),
            vm.eip712HashType(
                string.concat(
                    "Grant(address owner,SessionParams[] sessions,uint256 nonce,uint256 deadline)",
                    PARAMS_DEF,
                    PERMISSION_DEF,
                    BUDGET_DEF
                )
            )
        );
        assertEq(
            SessionTypedData.spawnType(),
            vm.eip712HashType(
                string.concat(
                    "Spawn(uint256 parentId,SessionParams[] sessions,uint256 nonce,uint256 deadline)",
                    PERMISSION_DEF,
                    PARAMS_DEF,
                    BUDGET_DEF
                )
            )
        );
        assertEq(SessionTypedData.paramsType(), vm.eip712HashType(string.concat(PARAMS_DEF, PERMISSION_DEF, BUDGET_DEF)));
        assertEq(SessionTypedData.budgetType(), vm.eip712HashType(BUDGET_DEF));
        assertEq(SessionTypedData.permissionType(), vm.eip712HashType(PERMISSION_DEF));
        assertEq(
            SessionTypedData.executeType(),
            vm.eip712HashType(
                "Execute(uint256 session,address target,uint256 value,bytes data,uint256 nonce,uint256 deadline,"
                "uint256 relayFee)"
            )
        );
        assertEq(
            SessionTypedData.batchType(),
            vm.eip712HashType(
                "ExecuteBatch(uint256 session,Call[] calls,uint256 nonce,uint256 deadline,uint256 relayFee)"
                "Call(address target,uint256 value,bytes data)"
            )
        );
        assertEq(SessionTypedData.callType(), vm.eip712HashType("Call(address target,uint256 value,bytes data)"));
    }

    function _digest(address manager_, bytes32 structHash) internal view returns (bytes32) {
        return SessionTypedData.digest(manager_, structHash);
    }

    function _one(SessionParams memory p) internal pure returns (SessionParams[] memory ps) {
        ps = new SessionParams[](1);
        ps[0] = p;
    }

    function _grantHash(address owner_, SessionParams[] memory ps, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        return SessionTypedData.grantHash(owner_, ps, nonce, deadline);
    }

    function _spawnHash(uint256 parentId, SessionParams memory p, uint256 nonce, uint256 deadline)
        internal
        pure
        returns (bytes32)
    {
        return SessionTypedData.spawnHash(parentId, p, nonce, deadline);
    }

    function _executeHash(
        uint256 id,
        address to,
        uint256 value,
        bytes memory data,
        uint256 nonce,
        uint256 deadline,
        uint256 fee
    ) internal pure returns (bytes32) {
        return SessionTypedData.executeHash(id, to, value, data, nonce, deadline, fee);
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The same signature in its malleable twin form (s' = n - s, v flipped): ecrecover accepts it.
    function _highS(bytes memory sig) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _signGrant(uint256 key, SessionParams memory p, uint256 nonce, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, _digest(address(manager), _grantHash(vm.addr(key), _one(p), nonce, deadline)));
    }

    function _signExecute(uint256 key, uint256 id, address to, uint256 value, bytes memory data, uint256 nonce, uint256 fee)
        internal
        view
        returns (bytes memory)
    {
        return _sign(key, _digest(address(manager), _executeHash(id, to, value, data, nonce, block.timestamp + 1 hours, fee)));
    }

    /// @dev A root for `agent` with 1 ETH, its agent's executes relayed for at most `maxFee`.
    function _relayedRoot(uint256 maxFee) internal returns (uint256 id) {
        id = _rootWithEth(agent, 1 ether);
        vm.prank(owner);
        manager.setMaxRelayFee(id, maxFee);
    }

    /*//////////////////////////////////////////////////////////////
                                GRANTS
    //////////////////////////////////////////////////////////////*/

    function test_createSessionWithSig_anyoneSubmitsTheOwnersGrant() public {
        SessionParams memory p = _withBudget(_withBudget(_params(agent, 30 * DAY), NATIVE, 2 ether, 0, 0), address(usdc), 500e6, 0, 0);
        bytes memory sig = _signGrant(ownerKey, p, 7, block.timestamp + 1 hours);
        uint256 usdcBefore = usdc.balanceOf(owner);
        vm.prank(relayer);
        uint256 id = manager.createSessionWithSig(p, owner, 7, block.timestamp + 1 hours, sig);
        // the owner holds the session; its ETH came out of the deposit, its USDC by transferFrom
        assertEq(manager.ownerOf(id), owner);
        assertEq(manager.getSession(id).agent, agent);
        assertEq(manager.depositOf(owner), 98 ether);
        assertEq(manager.remaining(id, NATIVE), 2 ether);
        assertEq(manager.remaining(id, address(usdc)), 500e6);
        assertEq(usdcBefore - usdc.balanceOf(owner), 500e6);
        assertTrue(manager.nonceUsed(owner, 7));
        assertFalse(manager.nonceUsed(owner, 8));
    }

    /// @dev A root with an allowlist, caps, a period with a call limit, an idle timeout and a label.
    function _everyField() internal view returns (SessionParams memory) {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0.1 ether, 0.5 ether);
        p = _withPeriod(_allow(p, address(target), target.ping.selector), uint32(DAY), 10);
        return _withLabel(_withIdle(p, 3600), "signed");
    }

    function test_createSessionWithSig_everyFieldIsSigned() public {
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _signGrant(ownerKey, _everyField(), 1, deadline);
        // one more allowlist entry than was signed: another digest, another recovered key
        vm.expectPartialRevert(InvalidSigner.selector);
        manager.createSessionWithSig(_allow(_everyField(), payee, NO_SELECTOR), owner, 1, deadline, sig);
        uint256 id = manager.createSessionWithSig(_everyField(), owner, 1, deadline, sig);
        assertTrue(manager.isAllowed(id, address(target), target.ping.selector));
        assertFalse(manager.isAllowed(id, payee, NO_SELECTOR));
        assertEq(manager.getSession(id).label, bytes32("signed"));
        assertEq(manager.getSession(id).maxIdle, 3600);
        assertEq(manager.getBudget(id, NATIVE).perCallCap, 0.1 ether);
    }

    function test_createSessionsWithSig_oneSignatureOpensMany() public {
        SessionParams[] memory ps = new SessionParams[](3);
        for (uint256 i; i < 3; ++i) {
            ps[i] = _withBudget(_params(address(uint160(0xA000 + i)), 30 * DAY), NATIVE, 1 ether, 0, 0);
        }
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(ownerKey, _digest(address(manager), _grantHash(owner, ps, 1, deadline)));
        vm.prank(relayer);
        uint256 first = manager.createSessionsWithSig(ps, owner, 1, deadline, sig);
        for (uint256 i; i < 3; ++i) {
            assertEq(manager.getSession(first + i).agent, address(uint160(0xA000 + i)));
            assertEq(manager.ownerOf(first + i), owner);
        }
        assertEq(manager.depositOf(owner), 97 ether);
    }

    function test_createSessionWithSig_depositTooLowRevertsAndMovesNothing() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 101 ether, 0, 0);
        bytes memory sig = _signGrant(ownerKey, p, 1, block.timestamp + 1 hours);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(DepositTooLow.selector, owner, 101 ether, 100 ether));
        manager.createSessionWithSig(p, owner, 1, block.timestamp + 1 hours, sig);
        assertEq(manager.depositOf(owner), 100 ether);
        assertFalse(manager.nonceUsed(owner, 1));
    }

    function test_createSessionWithSig_expiredDeadline() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 60;
        bytes memory sig = _signGrant(ownerKey, p, 1, deadline);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(SignatureExpired.selector, deadline));
        manager.createSessionWithSig(p, owner, 1, deadline, sig);
        assertEq(manager.sessionCount(), 0);
    }

    function test_createSessionWithSig_replayedNonce() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _signGrant(ownerKey, p, 42, deadline);
        manager.createSessionWithSig(p, owner, 42, deadline, sig);
        vm.expectRevert(abi.encodeWithSelector(NonceUsed.selector, owner, 42));
        manager.createSessionWithSig(p, owner, 42, deadline, sig);
        assertEq(manager.sessionCount(), 1);
        assertEq(manager.depositOf(owner), 99 ether);
    }

    function test_createSessionWithSig_cancelledNonce() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 nonce = 3 * 256 + 5;
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _signGrant(ownerKey, p, nonce, deadline);
        vm.prank(owner);
        manager.invalidateNonces(3, 1 << 5);
        assertTrue(manager.nonceUsed(owner, nonce));
        vm.expectRevert(abi.encodeWithSelector(NonceUsed.selector, owner, nonce));
        manager.createSessionWithSig(p, owner, nonce, deadline, sig);
    }

    function test_createSessionWithSig_wrongSigner() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        // the stranger signs the owner's grant
        bytes memory sig = _sign(strangerKey, _digest(address(manager), _grantHash(owner, _one(p), 1, deadline)));
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, owner, stranger));
        manager.createSessionWithSig(p, owner, 1, deadline, sig);
    }

    function test_createSessionWithSig_onlyTheManagerOwnerGrants() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        bytes memory sig = _signGrant(strangerKey, p, 1, block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(NotManagerOwner.selector, stranger));
        manager.createSessionWithSig(p, stranger, 1, block.timestamp + 1 hours, sig);
    }

    function test_createSessionWithSig_signatureOverOtherParams() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _signGrant(ownerKey, p, 1, deadline);
        // the submitter raises the budget: the digest changes, so does the recovered key
        SessionParams memory bigger = _withBudget(_params(agent, 30 * DAY), NATIVE, 50 ether, 0, 0);
        address recovered = vm.addr(1); // placeholder, replaced below
        (uint8 v, bytes32 r, bytes32 s) = (uint8(sig[64]), bytes32(0), bytes32(0));
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
        }
        recovered = ecrecover(_digest(address(manager), _grantHash(owner, _one(bigger), 1, deadline)), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, owner, recovered));
        manager.createSessionWithSig(bigger, owner, 1, deadline, sig);
        assertEq(manager.depositOf(owner), 100 ether);
    }

    function test_createSessionWithSig_highSIsRefused() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory twin = _highS(_signGrant(ownerKey, p, 1, deadline));
        bytes32 s;
        assembly {
            s := mload(add(twin, 64))
        }
        vm.expectRevert(abi.encodeWithSelector(InvalidSignatureS.selector, s));
        manager.createSessionWithSig(p, owner, 1, deadline, twin);
    }

    function test_createSessionWithSig_shortSignature() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(InvalidSignatureLength.selector, 64));
        manager.createSessionWithSig(p, owner, 1, block.timestamp + 1 hours, new bytes(64));
    }

    function test_createSessionWithSig_anotherManagersSignatureFails() public {
        // the owner's second manager: a signature for it is worthless here (the domain binds the manager)
        vm.prank(owner);
        address other = factory.deployManager(owner, bytes32(uint256(1)));
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digestHere = _digest(address(manager), _grantHash(owner, _one(p), 1, deadline));
        bytes memory sig = _sign(ownerKey, _digest(other, _grantHash(owner, _one(p), 1, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = (uint8(sig[64]), bytes32(0), bytes32(0));
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
        }
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, owner, ecrecover(digestHere, v, r, s)));
        manager.createSessionWithSig(p, owner, 1, deadline, sig);
    }

    function test_createSessionWithSig_anotherChainsSignatureFails() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _signGrant(ownerKey, p, 1, deadline);
        bytes32 digestHere = _digest(address(manager), _grantHash(owner, _one(p), 1, deadline));
        // a fork: the chain id changes, the domain is recomputed, the old signature is void
        vm.chainId(block.chainid + 1);
        bytes32 digestThere = _digest(address(manager), _grantHash(owner, _one(p), 1, deadline));
        assertTrue(digestHere != digestThere);
        (uint8 v, bytes32 r, bytes32 s) = (uint8(sig[64]), bytes32(0), bytes32(0));
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
        }
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, owner, ecrecover(digestThere, v, r, s)));
        manager.createSessionWithSig(p, owner, 1, deadline, sig);
        (,,, uint256 chainId, address verifying,,) = manager.eip712Domain();
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(manager));
    }

    /*//////////////////////////////////////////////////////////////
                            CONTRACT OWNERS (ERC-1271)
    //////////////////////////////////////////////////////////////*/

    function _walletOwnedManager(KeyWallet wallet) internal returns (IAgentSessions m) {
        vm.prank(address(wallet));
        m = IAgentSessions(payable(factory.deployManager(address(wallet), bytes32(0))));
        vm.deal(address(wallet), 10 ether);
        wallet.run(address(m), 5 ether, abi.encodeCall(m.deposit, ()));
    }

    function test_createSessionWithSig_contractOwnerSignsThroughERC1271() public {
        KeyWallet wallet = new KeyWallet(stranger);
        IAgentSessions m = _walletOwnedManager(wallet);
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(strangerKey, _digest(address(m), _grantHash(address(wallet), _one(p), 1, deadline)));
        uint256 id = m.createSessionWithSig(p, address(wallet), 1, deadline, sig);
        assertEq(m.ownerOf(id), address(wallet));
        assertEq(m.depositOf(address(wallet)), 4 ether);
    }

    function test_createSessionWithSig_walletAnsweringTheWrongMagic() public {
        KeyWallet wallet = new KeyWallet(stranger);
        IAgentSessions m = _walletOwnedManager(wallet);
        wallet.setMode(KeyWallet.Mode.WrongMagic);
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(strangerKey, _digest(address(m), _grantHash(address(wallet), _one(p), 1, deadline)));
        vm.expectRevert(
            abi.encodeWithSelector(ContractSignatureRejected.selector, address(wallet), abi.encode(bytes4(0xdeadbeef)))
        );
        m.createSessionWithSig(p, address(wallet), 1, deadline, sig);
        assertEq(m.depositOf(address(wallet)), 5 ether);
    }

    function test_createSessionWithSig_walletThatReverts() public {
        KeyWallet wallet = new KeyWallet(stranger);
        IAgentSessions m = _walletOwnedManager(wallet);
        wallet.setMode(KeyWallet.Mode.Reverts);
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(strangerKey, _digest(address(m), _grantHash(address(wallet), _one(p), 1, deadline)));
        vm.expectRevert(
            abi.encodeWithSelector(
                ContractSignatureRejected.selector,
                address(wallet),
                abi.encodeWithSignature("Error(string)", "wallet says no")
            )
        );
        m.createSessionWithSig(p, address(wallet), 1, deadline, sig);
    }

    function test_createSessionWithSig_walletRejectsAnotherKeysSignature() public {
        KeyWallet wallet = new KeyWallet(stranger);
        IAgentSessions m = _walletOwnedManager(wallet);
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(agentKey, _digest(address(m), _grantHash(address(wallet), _one(p), 1, deadline)));
        vm.expectRevert(
            abi.encodeWithSelector(ContractSignatureRejected.selector, address(wallet), abi.encode(bytes4(0xffffffff)))
        );
        m.createSessionWithSig(p, address(wallet), 1, deadline, sig);
    }

    /*//////////////////////////////////////////////////////////////
                                 SPAWNS
    //////////////////////////////////////////////////////////////*/

    function test_spawnChildWithSig_theParentsAgentSignsTheChildIsItsToken() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 0.3 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(agentKey, _digest(address(manager), _spawnHash(root, p, 9, deadline)));
        vm.prank(relayer);
        uint256 child = manager.spawnChildWithSig(root, p, 9, deadline, sig);
        assertEq(manager.ownerOf(child), agent);
        assertEq(manager.getSession(child).parentId, root);
        assertEq(manager.remaining(root, NATIVE), 0.7 ether);
        assertEq(manager.remaining(child, NATIVE), 0.3 ether);
    }

    function test_spawnChildWithSig_aRotatedOutAgentsSignatureIsVoid() public {
        uint256 root = _rootWithEth(agent, 1 ether);
        SessionParams memory p = _withBudget(_childParams(root, subAgent), NATIVE, 0.3 ether, 0, 0);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = _sign(agentKey, _digest(address(manager), _spawnHash(root, p, 9, deadline)));
        vm.prank(owner);
        manager.rotateAgent(root, stranger);
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, stranger, agent));
        manager.spawnChildWithSig(root, p, 9, deadline, sig);
        assertEq(manager.remaining(root, NATIVE), 1 ether);
    }

    function test_spawnChildWithSig_unknownParent() public {
        SessionParams memory p = _params(subAgent, DAY);
        vm.expectRevert(abi.encodeWithSelector(SessionNotFound.selector, 77));
        manager.spawnChildWithSig(77, p, 1, block.timestamp + 1, new bytes(65));
    }

    /*//////////////////////////////////////////////////////////////
                          EXECUTES THROUGH A RELAYER
    //////////////////////////////////////////////////////////////*/

    function test_executeWithSig_aKeylessAgentPaysThroughARelayer() public {
        uint256 id = _relayedRoot(0.01 ether);
        assertEq(agent.balance, 0);
        bytes memory sig = _signExecute(agentKey, id, payee, 0.2 ether, "", 1, 0.001 ether);
        uint256 deadline = block.timestamp + 1 hours;
        uint256 managerBefore = address(manager).balance;
        // both ETH spends are in events (an ETH budget keeps no lifetime counter on chain)
        vm.expectEmit(address(manager));
        emit Executed(id, payee, 0.2 ether, bytes4(0));
        vm.expectEmit(address(manager));
        emit RelayFeePaid(id, relayer, 0.001 ether);
        vm.prank(relayer);
        manager.executeWithSig(id, payee, 0.2 ether, "", 1, deadline, 0.001 ether, sig);
        assertEq(payee.balance, 0.2 ether);
        assertEq(relayer.balance, 0.001 ether);
        // the value and the fee, and nothing else, left the session's escrow and the manager
        assertEq(manager.remaining(id, NATIVE), 1 ether - 0.201 ether);
        assertEq(address(manager).balance, managerBefore - 0.201 ether);
    }

    function test_executeWithSig_callsTheTargetAsTheSession() public {
        uint256 id = _relayedRoot(0);
        bytes memory data = abi.encodeWithSignature("ping()");
        bytes memory sig = _signExecute(agentKey, id, address(target), 0, data, 1, 0);
        vm.prank(relayer);
        manager.executeWithSig(id, address(target), 0, data, 1, block.timestamp + 1 hours, 0, sig);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(NonceUsed.selector, agent, 1));
        manager.executeWithSig(id, address(target), 0, data, 1, block.timestamp + 1 hours, 0, sig);
    }

    function test_executeWithSig_feeAboveTheSessionsCap() public {
        uint256 id = _relayedRoot(0.001 ether);
        bytes memory sig = _signExecute(agentKey, id, payee, 0.1 ether, "", 1, 0.002 ether);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(RelayFeeAboveCap.selector, id, 0.002 ether, 0.001 ether));
        manager.executeWithSig(id, payee, 0.1 ether, "", 1, block.timestamp + 1 hours, 0.002 ether, sig);
        assertEq(payee.balance, 0);
        assertEq(manager.remaining(id, NATIVE), 1 ether);
    }

    function test_executeWithSig_noFeeUnlessAControllerAllowsOne() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        bytes memory sig = _signExecute(agentKey, id, payee, 0.1 ether, "", 1, 1);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(RelayFeeAboveCap.selector, id, 1, 0));
        manager.executeWithSig(id, payee, 0.1 ether, "", 1, block.timestamp + 1 hours, 1, sig);
    }

    function test_executeWithSig_anAncestorsFeeCapBindsAChild() public {
        uint256 root = _relayedRoot(0.001 ether);
        uint256 child = _childWithEth(root, subAgent, 0.5 ether);
        // the child's holder (the root's agent) lifts the child's own cap; the root's still binds
        vm.prank(agent);
        manager.setMaxRelayFee(child, 1 ether);
        bytes memory sig = _signExecute(subAgentKey, child, payee, 0, "", 1, 0.4 ether);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(RelayFeeAboveCap.selector, root, 0.4 ether, 0.001 ether));
        manager.executeWithSig(child, payee, 0, "", 1, block.timestamp + 1 hours, 0.4 ether, sig);
        assertEq(relayer.balance, 0);
    }

    function test_executeWithSig_theFeeIsChargedToThePerCallCap() public {
        SessionParams memory p = _withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0.05 ether, 0);
        uint256 id = _createRoot(p);
        vm.prank(owner);
        manager.setMaxRelayFee(id, 1 ether);
        bytes memory sig = _signExecute(agentKey, id, payee, 0, "", 1, 0.06 ether);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(PerCallCapExceeded.selector, id, NATIVE, 0.06 ether, 0.05 ether));
        manager.executeWithSig(id, payee, 0, "", 1, block.timestamp + 1 hours, 0.06 ether, sig);
    }

    function test_executeWithSig_theFeeCountsAgainstTheParentsPeriodAllowance() public {
        SessionParams memory p = _withPeriod(_withBudget(_params(agent, 30 * DAY), NATIVE, 1 ether, 0, 0.1 ether), uint32(DAY), 0);
        uint256 root = _createRoot(p);
        vm.prank(owner);
        manager.setMaxRelayFee(root, 1 ether);
        uint256 child = _childWithEth(root, subAgent, 0.5 ether);
        vm.prank(agent);
        manager.setMaxRelayFee(child, 1 ether);
        // 0.08 paid plus 0.03 of fee is 0.11: over the root's 0.1 a day
        bytes memory sig = _signExecute(subAgentKey, child, payee, 0.08 ether, "", 1, 0.03 ether);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(PeriodAllowanceExceeded.selector, root, NATIVE, 0.03 ether, 0.02 ether));
        manager.executeWithSig(child, payee, 0.08 ether, "", 1, block.timestamp + 1 hours, 0.03 ether, sig);
    }

    function test_executeWithSig_aRotatedOutAgentsSignatureIsVoid() public {
        uint256 id = _relayedRoot(0);
        bytes memory sig = _signExecute(agentKey, id, payee, 0.1 ether, "", 1, 0);
        vm.prank(owner);
        manager.rotateAgent(id, stranger);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(InvalidSigner.selector, stranger, agent));
        manager.executeWithSig(id, payee, 0.1 ether, "", 1, block.timestamp + 1 hours, 0, sig);
    }

    function test_executeWithSig_aPausedSessionDoesNotSpend() public {
        uint256 id = _relayedRoot(0);
        bytes memory sig = _signExecute(agentKey, id, payee, 0.1 ether, "", 1, 0);
        _pause(id);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(SessionNotActive.selector, id, Status.Paused));
        manager.executeWithSig(id, payee, 0.1 ether, "", 1, block.timestamp + 1 hours, 0, sig);
    }

    function test_executeWithSig_aRelayerReenteringFromItsFeeIsRefused() public {
        uint256 id = _relayedRoot(0.01 ether);
        ReenteringRelayer r = new ReenteringRelayer(manager);
        bytes memory sig1 = _signExecute(agentKey, id, payee, 0.1 ether, "", 1, 0.001 ether);
        bytes memory sig2 = _signExecute(agentKey, id, payee, 0.1 ether, "", 2, 0.001 ether);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory first =
            abi.encodeCall(manager.executeWithSig, (id, payee, 0.1 ether, "", 1, deadline, 0.001 ether, sig1));
        bytes memory second =
            abi.encodeCall(manager.executeWithSig, (id, payee, 0.1 ether, "", 2, deadline, 0.001 ether, sig2));
        r.relay(first, second);
        // the reentry from the fee payment was refused; only the first execute happened
        assertFalse(r.reentered());
        assertEq(r.reentryAnswer(), abi.encodeWithSignature("Reentrancy()"));
        assertEq(payee.balance, 0.1 ether);
        assertEq(address(r).balance, 0.001 ether);
        assertEq(manager.remaining(id, NATIVE), 1 ether - 0.101 ether);
        assertFalse(manager.nonceUsed(agent, 2));
    }

    function test_executeBatchWithSig_oneSignatureOneFee() public {
        uint256 id = _relayedRoot(0.01 ether);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(payee, 0.1 ether, "");
        calls[1] = Call(address(target), 0, abi.encodeWithSignature("ping()"));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = SessionTypedData.batchHash(id, calls, 5, deadline, 0.002 ether);
        bytes memory sig = _sign(agentKey, _digest(address(manager), structHash));
        vm.prank(relayer);
        manager.executeBatchWithSig(id, calls, 5, deadline, 0.002 ether, sig);
        assertEq(payee.balance, 0.1 ether);
        assertEq(relayer.balance, 0.002 ether);
        assertEq(manager.remaining(id, NATIVE), 1 ether - 0.102 ether);
    }

    /*//////////////////////////////////////////////////////////////
                               SETTINGS
    //////////////////////////////////////////////////////////////*/

    function test_setMaxRelayFee_onlyAController() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, agent));
        manager.setMaxRelayFee(id, 1);
        vm.prank(owner);
        manager.setMaxRelayFee(id, 7);
        assertEq(manager.maxRelayFee(id), 7);
    }

    function test_withdraw_fromOwnDepositOnly() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(DepositTooLow.selector, stranger, 1, 0));
        manager.withdraw(1, stranger);
        uint256 before = payee.balance;
        vm.prank(owner);
        manager.withdraw(40 ether, payee);
        assertEq(payee.balance - before, 40 ether);
        assertEq(manager.depositOf(owner), 60 ether);
    }

    function test_withdraw_neverIntoTheManagerOrItsExecutor() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, 0, address(manager)));
        manager.withdraw(1 ether, address(manager));
        address executor = manager.executor();
        vm.expectRevert(abi.encodeWithSelector(ForbiddenTarget.selector, 0, executor));
        manager.withdraw(1 ether, executor);
        vm.expectRevert(abi.encodeWithSelector(ZeroAmount.selector));
        manager.withdraw(0, owner);
        vm.expectRevert(abi.encodeWithSelector(ZeroAmount.selector));
        manager.deposit{value: 0}();
        vm.stopPrank();
    }

    function test_depositsAreOutsideEverySessionsEscrow() public {
        uint256 id = _rootWithEth(agent, 1 ether);
        // the deposit is not a budget: the session spends its own escrow and no more
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(BudgetExceeded.selector, id, NATIVE, 2 ether, 1 ether));
        manager.execute(id, payee, 2 ether, "");
        assertEq(address(manager).balance, 101 ether);
    }
}
