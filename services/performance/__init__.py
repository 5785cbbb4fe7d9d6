"""Customer performance: KPIs, breakdowns, trends, cohorts, top customers and insights, in SQL."""
