"""Agent console and supervisor wallboard (FastAPI + websockets)."""
