"""OpenCode (npm `opencode-ai`): a plugin aitop ships for live events, its SQLite store for
tokens. See tests/fixtures/opencode/README.md for what each part was proven against."""
