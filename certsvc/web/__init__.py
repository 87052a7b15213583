"""Blueprints: thin handlers that parse the request, call a service and render the result."""
