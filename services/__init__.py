"""Analytics and data access: plain Python over SQLAlchemy and pandas (no Dash, no Flask)."""
