// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "solady/tokens/ERC721.sol";
import {Base64} from "solady/utils/Base64.sol";
import {LibString} from "solady/utils/LibString.sol";
import {ISessionRenderer} from "../../../contracts/interfaces/ISessionRenderer.sol";
import {SessionManagerExtension} from "../../../contracts/SessionManagerExtension.sol";
import {SessionSwaps} from "../../../contracts/SessionSwaps.sol";
import {FakeManager} from "./Mocks.sol";
import {UnitBase} from "./UnitBase.sol";

/// @notice The ERC-721 / ERC-4907 face of a manager (SessionToken) and the on-chain metadata (SessionRenderer).
contract TokenRendererTest is UnitBase {
    string internal constant PREFIX = "data:application/json;base64,";

    /*//////////////////////////////////////////////////////////////
                                 ERC-721
    //////////////////////////////////////////////////////////////*/

    function test_nameAndSymbol() public view {
        assertEq(manager.name(), "Agent Session");
        assertEq(manager.symbol(), "SESSION");
    }

    function test_supportsInterface_erc721MetadataErc165AndErc4907() public view {
        assertTrue(manager.supportsInterface(0x80ac58cd));
        assertTrue(manager.supportsInterface(0x5b5e139f));
        assertTrue(manager.supportsInterface(0x01ffc9a7));
        assertTrue(manager.supportsInterface(0xad092b5c));
        assertFalse(manager.supportsInterface(0xffffffff));
    }

    function test_transferFrom_movesTheTokenAndControl() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.expectEmit(address(manager));
        emit Transfer(owner, payee, id);
        vm.prank(owner);
        manager.transferFrom(owner, payee, id);
        assertEq(manager.ownerOf(id), payee);
        assertEq(manager.balanceOf(payee), 1);
        vm.prank(payee);
        manager.pause(id);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, owner));
        manager.resume(id);
    }

    function test_transferFrom_keepsTheEthEscrowWithTheToken() public {
        // a root's unspent ETH lives in its token's ownership word: a transfer rewrites the holder only
        uint256 id = _rootWithEth(agent, 2 ether);
        _pay(id, payee, 0.5 ether);
        vm.prank(owner);
        manager.transferFrom(owner, stranger, id);
        assertEq(manager.ownerOf(id), stranger);
        assertEq(manager.remaining(id, NATIVE), 1.5 ether);
        _pay(id, payee, 0.5 ether);
        assertEq(manager.remaining(id, NATIVE), 1 ether);
        // the new holder is paid what is left
        vm.prank(stranger);
        manager.complete(id);
        assertEq(stranger.balance, 1 ether);
        assertEq(manager.remaining(id, NATIVE), 0);
        assertEq(address(manager).balance, 0);
    }

    function test_safeTransferFrom_toAnAccount() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(owner);
        manager.safeTransferFrom(owner, payee, id);
        assertEq(manager.ownerOf(id), payee);
    }

    function test_transferFrom_byAStrangerReverts() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(stranger);
        vm.expectRevert(ERC721.NotOwnerNorApproved.selector);
        manager.transferFrom(owner, stranger, id);
    }

    function test_transferFrom_toTheManagerReverts() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(InvalidHolder.selector, address(manager)));
        manager.transferFrom(owner, address(manager), id);
    }

    function test_transferFrom_toTheExecutorReverts() public {
        uint256 id = _rootWithEth(agent, 1);
        address executor = manager.executor();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(InvalidHolder.selector, executor));
        manager.transferFrom(owner, executor, id);
    }

    function test_approve_letsTheApprovedMoveTheTokenWithoutControllingTheSession() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(owner);
        manager.approve(stranger, id);
        assertEq(manager.getApproved(id), stranger);
        assertFalse(manager.isController(id, stranger));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(NotController.selector, id, stranger));
        manager.pause(id);
        vm.prank(stranger);
        manager.transferFrom(owner, payee, id);
        assertEq(manager.ownerOf(id), payee);
        assertEq(manager.getApproved(id), address(0));
    }

    function test_setApprovalForAll_letsAnOperatorMoveEveryToken() public {
        uint256 a = _rootWithEth(agent, 1);
        uint256 b = _rootWithEth(agent, 1);
        vm.prank(owner);
        manager.setApprovalForAll(stranger, true);
        assertTrue(manager.isApprovedForAll(owner, stranger));
        vm.startPrank(stranger);
        manager.transferFrom(owner, payee, a);
        manager.safeTransferFrom(owner, payee, b, "ok");
        vm.stopPrank();
        assertEq(manager.balanceOf(payee), 2);
        assertEq(manager.balanceOf(owner), 0);
    }

    function test_safeTransferFrom_toAContractThatIsNotAReceiverReverts() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(owner);
        vm.expectRevert(ERC721.TransferToNonERC721ReceiverImplementer.selector);
        manager.safeTransferFrom(owner, address(target), id);
    }

    function test_balanceOf_theZeroAddressReverts() public {
        vm.expectRevert(ERC721.BalanceQueryForZeroAddress.selector);
        manager.balanceOf(address(0));
    }

    function test_ownerOf_aTokenNeverMintedReverts() public {
        vm.expectRevert(ERC721.TokenDoesNotExist.selector);
        manager.ownerOf(1);
    }

    /*//////////////////////////////////////////////////////////////
                         ERC-4907: userOf / userExpires
    //////////////////////////////////////////////////////////////*/

    function test_userOf_isTheAgentWhileActiveAndZeroOtherwise() public {
        uint256 id = _rootWithEth(agent, 1);
        assertEq(manager.userOf(id), agent);
        assertEq(manager.userExpires(id), T0 + 30 * DAY);
        _pause(id);
        assertEq(manager.userOf(id), address(0));
        vm.prank(owner);
        manager.resume(id);
        assertEq(manager.userOf(id), agent);
        vm.warp(T0 + 30 * DAY);
        assertEq(manager.userOf(id), address(0));
    }

    function test_userOf_isZeroForADraftAndAnUnknownId() public {
        uint256 id = _createRoot(_asDraft(_params(agent, DAY)));
        assertEq(manager.userOf(id), address(0));
        assertEq(manager.userOf(50), address(0));
        assertEq(manager.userExpires(50), 0);
    }

    function test_userOf_ofAChildIsZeroWhileItsParentIsPaused() public {
        uint256 root = _rootWithEth(agent, 1);
        uint256 child = _spawn(agent, root, _childParams(root, subAgent));
        assertEq(manager.userOf(child), subAgent);
        _pause(root);
        assertEq(manager.userOf(child), address(0));
    }

    /*//////////////////////////////////////////////////////////////
                                tokenURI
    //////////////////////////////////////////////////////////////*/

    function test_tokenURI_isBase64JsonWithNameAndAttributes() public {
        uint256 id = _createRoot(_withLabel(_withBudget(_params(agent, DAY), NATIVE, 2 ether, 0, 0), "worker"));
        _pay(id, payee, 0.5 ether);
        string memory json = _json(manager.tokenURI(id));
        assertEq(vm.parseJsonString(json, ".name"), "Agent Session #1");
        assertEq(vm.parseJsonString(json, ".description"), "A bounded, revocable session of an autonomous agent.");
        _assertTrait(json, 0, "label", "worker");
        _assertTrait(json, 1, "status", "active");
        _assertTrait(json, 2, "agent", LibString.toHexString(agent));
        _assertNumber(json, 3, "expiry", T0 + DAY);
        _assertNumber(json, 4, "depth", 0);
        _assertNumber(json, 5, "parent", 0);
        _assertNumber(json, 6, "available ETH", 1.5 ether);
        // no "spent ETH" trait: an ETH budget's lifetime spending is not kept on chain (its events carry it)
        assertTrue(vm.keyExistsJson(json, ".attributes[6]"));
        assertFalse(vm.keyExistsJson(json, ".attributes[7]"));
        assertFalse(LibString.contains(json, "spent ETH"));
    }

    function test_tokenURI_ofAChildWithAnErc20Budget() public {
        uint256 root =
            _createRoot(_withBudget(_withBudget(_params(agent, DAY), NATIVE, 1, 0, 0), address(usdc), 9e6, 0, 0));
        uint256 child = _spawn(agent, root, _withBudget(_childParams(root, subAgent), address(usdc), 4e6, 0, 0));
        string memory json = _json(manager.tokenURI(child));
        _assertNumber(json, 4, "depth", 1);
        _assertNumber(json, 5, "parent", root);
        string memory key = LibString.toHexString(address(usdc));
        // ETH (always listed first) has its available only; an ERC-20 has available and spent
        _assertNumber(json, 6, "available ETH", 0);
        _assertNumber(json, 7, string.concat("available ", key), 4e6);
        _assertNumber(json, 8, string.concat("spent ", key), 0);
        assertFalse(vm.keyExistsJson(json, ".attributes[9]"));
    }

    function test_tokenURI_showsWhatAnErc20BudgetSpent() public {
        uint256 id = _rootWithToken(agent, address(usdc), 9e6);
        vm.prank(agent);
        manager.transferToken(id, address(usdc), payee, 2e6);
        string memory json = _json(manager.tokenURI(id));
        string memory key = LibString.toHexString(address(usdc));
        _assertNumber(json, 6, "available ETH", 0);
        _assertNumber(json, 7, string.concat("available ", key), 7e6);
        _assertNumber(json, 8, string.concat("spent ", key), 2e6);
    }

    function test_tokenURI_statusNames() public {
        uint256 id = _rootWithEth(agent, 1);
        uint256 draft = _createRoot(_asDraft(_params(agent, DAY)));
        _assertTrait(_json(manager.tokenURI(draft)), 1, "status", "draft");
        _pause(id);
        _assertTrait(_json(manager.tokenURI(id)), 1, "status", "paused");
        _revoke(id);
        _assertTrait(_json(manager.tokenURI(id)), 1, "status", "revoked");
        vm.warp(T0 + DAY);
        _assertTrait(_json(manager.tokenURI(draft)), 1, "status", "expired");
    }

    function test_tokenURI_statusNamesAManagerNeverRenders() public {
        // a completed session's token is burned, and an unknown id has none: only a stand-in shows these
        FakeManager fake = new FakeManager();
        ISessionRenderer renderer = ISessionRenderer(manager.RENDERER());
        fake.set(Status.Completed, "");
        _assertTrait(_json(renderer.tokenURI(address(fake), 1)), 1, "status", "completed");
        fake.set(Status.None, "");
        _assertTrait(_json(renderer.tokenURI(address(fake), 1)), 1, "status", "none");
    }

    function test_tokenURI_escapesTheLabel() public {
        uint256 id = _createRoot(_withLabel(_params(agent, DAY), bytes32('say "hi"\\')));
        _assertTrait(_json(manager.tokenURI(id)), 0, "label", 'say "hi"\\');
    }

    function test_tokenURI_ofANonAsciiLabelShowsItsHex() public {
        bytes32 label = bytes32(hex"ff41");
        uint256 id = _createRoot(_withLabel(_params(agent, DAY), label));
        _assertTrait(_json(manager.tokenURI(id)), 0, "label", LibString.toHexString(uint256(label), 32));
    }

    function test_tokenURI_ofAFull32CharacterLabel() public {
        bytes32 label = "abcdefghijklmnopqrstuvwxyz012345";
        uint256 id = _createRoot(_withLabel(_params(agent, DAY), label));
        _assertTrait(_json(manager.tokenURI(id)), 0, "label", "abcdefghijklmnopqrstuvwxyz012345");
    }

    function test_tokenURI_withAnEmptyLabel() public {
        uint256 id = _createRoot(_params(agent, DAY));
        _assertTrait(_json(manager.tokenURI(id)), 0, "label", "");
    }

    function test_tokenURI_isTheFactorysRendererOutput() public {
        uint256 id = _rootWithEth(agent, 1);
        assertEq(manager.tokenURI(id), ISessionRenderer(manager.RENDERER()).tokenURI(address(manager), id));
    }

    function test_tokenURI_ofANonexistentTokenReverts() public {
        vm.expectRevert(ERC721.TokenDoesNotExist.selector);
        manager.tokenURI(1);
    }

    function test_tokenURI_askedOfTheRendererDirectlyAboutANonexistentTokenReverts() public {
        ISessionRenderer renderer = ISessionRenderer(manager.RENDERER());
        vm.expectRevert(ERC721.TokenDoesNotExist.selector);
        renderer.tokenURI(address(manager), 3);
    }

    function test_tokenURI_ofAClosedSessionReverts() public {
        uint256 id = _rootWithEth(agent, 1);
        vm.prank(agent);
        manager.complete(id);
        vm.expectRevert(ERC721.TokenDoesNotExist.selector);
        manager.tokenURI(id);
    }

    function test_extensionTokenURIIsAnEmptyPlaceholder() public {
        // the manager answers tokenURI itself; the extension's copy exists only to complete the ERC-721 surface
        assertEq(new SessionManagerExtension(address(0)).tokenURI(1), "");
    }

    function test_swapsModuleTokenURIIsAnEmptyPlaceholder() public {
        // the same for the swaps module, which the factory deploys beside the implementation
        assertEq(new SessionSwaps(address(0)).tokenURI(1), "");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    function _json(string memory uri) internal pure returns (string memory) {
        bytes memory b = bytes(uri);
        bytes memory prefix = bytes(PREFIX);
        assertGt(b.length, prefix.length);
        for (uint256 i; i < prefix.length; ++i) {
            assertEq(b[i], prefix[i]);
        }
        return string(Base64.decode(LibString.slice(uri, prefix.length)));
    }

    function _assertTrait(string memory json, uint256 i, string memory key, string memory value) internal pure {
        string memory at = string.concat(".attributes[", vm.toString(i), "]");
        assertEq(vm.parseJsonString(json, string.concat(at, ".trait_type")), key);
        assertEq(vm.parseJsonString(json, string.concat(at, ".value")), value);
    }

    function _assertNumber(string memory json, uint256 i, string memory key, uint256 value) internal pure {
        string memory at = string.concat(".attributes[", vm.toString(i), "]");
        assertEq(vm.parseJsonString(json, string.concat(at, ".trait_type")), key);
        assertEq(vm.parseJsonUint(json, string.concat(at, ".value")), value);
    }
}
