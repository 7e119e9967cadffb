"""Many sessions on many chains: the YAML spec (``spec``), the chains it names and the local Anvil nodes behind
them (``chains``), spawning a spec idempotently (``spawn``), throughput measurement (``throughput``) and the rich
tables and dashboard the tools print (``console``). Imports ``domain``, ``chain`` and ``base``.
"""
