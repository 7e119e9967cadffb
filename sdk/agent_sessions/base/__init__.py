"""The bottom layer: values and the exception tree, with no node behind them.

Amounts and durations (``units``), expiries (``parsing``), input checks (``validate``), the pydantic models of what
the chain returns and what the SDK sends (``models``), the shipped ABIs (``abi``), the typed exceptions and the one
place that turns revert data or a node's error into them (``errors``, with ``library_errors`` for Solady and
OpenZeppelin errors), and what operations hand back (``results``).
"""
