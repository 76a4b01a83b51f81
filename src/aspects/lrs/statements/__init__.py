"""The Statements resource of the LRS (routes, group-commit writer, queries, formats)."""
