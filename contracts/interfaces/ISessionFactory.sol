// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISessionFactory
/// @notice Deploys one SessionManager per owner (and salt), a full copy of the implementation's code, at a CREATE2
/// address that can be predicted, and lists the managers of each owner.
interface ISessionFactory {
    /// @notice `manager` was deployed for `owner` with `salt`.
    event ManagerDeployed(address indexed owner, address indexed manager, bytes32 indexed salt);

    /// @notice A manager already exists at the address for `owner` and `salt`.
    error ManagerExists(address manager);
    /// @notice Managers are deployed only by their owner (`caller` is not `owner`): nobody can take an owner's
    /// address or reorder the owner's list.
    error DeployerNotOwner(address owner, address caller);
    /// @notice The manager's code could not be deployed (the transaction's gas did not cover the code deposit).
    error ManagerDeployFailed();

    /// @notice The SessionManager whose runtime code every manager is a copy of (it is never initialised itself).
    function implementation() external view returns (address);

    /// @notice Deploys a manager owned by `owner`, who must be the caller; its address depends only on `owner`
    /// and `salt`.
    function deployManager(address owner, bytes32 salt) external returns (address manager);

    /// @notice The address `deployManager(owner, salt)` deploys to.
    function predictManager(address owner, bytes32 salt) external view returns (address);

    /// @notice Up to `limit` of the managers deployed for `owner`, in order, from position `offset` (0-based).
    function managersOf(address owner, uint256 offset, uint256 limit) external view returns (address[] memory);

    /// @notice How many managers were deployed for `owner`.
    function managerCount(address owner) external view returns (uint256);

    /// @notice Whether `manager` was deployed by this factory.
    function isManager(address manager) external view returns (bool);
}
