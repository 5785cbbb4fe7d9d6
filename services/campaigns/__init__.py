"""The Campaigns tab's services: the experiment readout of a campaign, its profit, and who responded.

`catalog` lists the campaigns, `window` fixes the analysis and pre-campaign windows, `metrics`
names what is measured, `facts` writes the SQL of every analysed customer's metric values and
sums them into sufficient statistics per variant (and segment), `readout` turns those into the
results with the engine in `services.experiments`, `profit` prices them, `segments` breaks them
down, `timeline` follows them day by day, `planning` sizes the next test and `verdict` says it
in words. SQL aggregates; no customer-level rows leave DuckDB.
"""
