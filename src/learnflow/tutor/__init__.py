"""The offline tutor engine: routing, explanations, debugging and exercises as plain functions."""
