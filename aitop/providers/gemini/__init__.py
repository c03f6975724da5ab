"""Gemini CLI (Google's coding agent): hooks, chat files, install."""
