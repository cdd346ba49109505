"""The ioukit command line: commands, messages and exit codes."""
