"""The sessions themselves, on one chain: the client and factory (``client``), a manager and its sessions
(``manager``, ``session``, ``listing``), tokens, the canonical deployment (``deployment``), the owner's tools
(``admin``, ``audit``, ``diagnose``), an agent's verified context (``context``) and many agents at once
(``concurrency``). Imports ``chain`` and ``base``.
"""
