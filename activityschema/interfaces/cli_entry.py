"""``python -m activityschema.interfaces.cli_entry`` runs the CLI (used by tests and -m users)."""

from .cli import main

if __name__ == "__main__":
    main()
