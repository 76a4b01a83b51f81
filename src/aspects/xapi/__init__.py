"""The xAPI data model shared by the LRS and the transformer: validation, agents, formats."""

from aspects.xapi.validation import StatementInvalid, validate_statement

__all__ = ["StatementInvalid", "validate_statement"]
