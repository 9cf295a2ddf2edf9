"""HTTP API: app factory, blueprints, schemas, auth and wiring of the domains."""
