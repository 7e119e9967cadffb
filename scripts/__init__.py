"""Ape scripts (`ape run <name>`). Modules starting with `_` are shared helpers, not commands."""
