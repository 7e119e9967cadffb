"""The package version (read by the command line and the MCP server; re-exported as ``agent_sessions.__version__``)."""

__version__ = "0.1.0"
