"""The HTTP shell: FastAPI app, routes, auth, limits and problem+json errors around the diagnosis pipeline."""
