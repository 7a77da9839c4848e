"""Runner: executes code in the sandbox, over HTTP and over code.execution.request events."""
