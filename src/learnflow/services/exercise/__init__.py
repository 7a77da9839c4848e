"""Exercise: hands out exercises, grades submissions, tracks progress and struggle."""
