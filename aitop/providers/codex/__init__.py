"""Codex (OpenAI's coding agent): hooks, rollouts, install."""
