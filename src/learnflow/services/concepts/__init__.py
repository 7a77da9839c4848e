"""Concepts: explains Python concepts at the student's level."""
