"""SQL of the operator_kpis cache refresher (aspects.models.rollup)."""
