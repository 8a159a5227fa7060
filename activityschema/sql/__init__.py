"""SQL: the named-template registry and (per backend) dialect rendering."""
