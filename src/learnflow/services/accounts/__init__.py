"""Accounts over HTTP: sign in, refresh, sign out, who am I, and managing accounts (served by every service)."""
