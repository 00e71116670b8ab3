"""HTTP routers, one per resource, gathered by `api.app.create_app`."""
