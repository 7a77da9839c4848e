"""LearnFlow: an open backend for AI-assisted Python learning."""

__version__ = "0.1.0"
