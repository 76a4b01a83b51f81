"""Report models: documented SQL over the fact tables, listed and run with parameters."""

from aspects.models.registry import (
    Report,
    ReportError,
    ReportResult,
    get_report,
    render,
    reports,
    run_report,
)

__all__ = ["Report", "ReportError", "ReportResult", "get_report", "render", "reports", "run_report"]
