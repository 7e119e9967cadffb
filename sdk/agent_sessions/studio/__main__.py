"""``python -m agent_sessions.studio``: the studio command on its own."""

from .command import studio

if __name__ == "__main__":
    studio(prog_name="python -m agent_sessions.studio")
