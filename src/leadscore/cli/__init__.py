"""The command line: thin wrappers that parse, call the service layer and render."""
