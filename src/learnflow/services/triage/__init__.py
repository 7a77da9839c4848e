"""Triage: receives questions, routes them, stores and streams the answers."""
