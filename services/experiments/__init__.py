"""The experiment statistics engine: pure functions from per-variant sufficient statistics to results.

SQL produces, per variant, the number of customers and the sums, sums of squares and cross
products of their metric values (`sufficient`); these modules turn them into lifts, intervals,
p-values and Bayesian summaries (`frequentist`, `bayesian`), variance reduction (`cuped`),
health checks (`health`), multiple-testing adjustments (`multiple`), always-valid intervals
(`sequential`), sample sizes (`power`) and the treatment x segment interaction test
(`interaction`). Nothing here reads a database or knows about the web app.
"""
