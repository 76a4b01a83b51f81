"""The Statements resource of the LRS (routes, group-commit writer, queries, formats)."""

# Before any module of this package: aspects.xapi decides whether its compiled build (which
# includes aspects.lrs.statements.prepare) may load (aspects.xapi.native).
import aspects.xapi  # noqa: F401
