"""Activity record model, column rules and DDL."""
