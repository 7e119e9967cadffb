"""``python -m agent_sessions``: the ``agent-sessions`` command."""

from .cli import main

if __name__ == "__main__":
    main()
