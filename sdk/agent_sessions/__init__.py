"""Agent Sessions: on-chain sessions for autonomous agents.

Python SDK for the Agent Sessions contracts.
"""

__version__ = "0.1.0"
