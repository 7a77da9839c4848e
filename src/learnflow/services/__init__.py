"""The FastAPI services: thin routers over the tutor's plain functions."""
