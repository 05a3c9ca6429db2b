"""Management commands of the project wiring (see `commands/`)."""
