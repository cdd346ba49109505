"""The documentation: every code block of README.md and docs/ runs as written."""
