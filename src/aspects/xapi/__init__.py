"""The xAPI data model shared by the LRS and the transformer: validation, agents, formats."""

from aspects.xapi.native import select_build

select_build()  # before the (possibly compiled) modules below are imported

from aspects.xapi.validation import StatementInvalid, validate_statement  # noqa: E402

__all__ = ["StatementInvalid", "validate_statement"]
