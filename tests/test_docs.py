"""The documentation generated from code is up to date."""
from scripts.csv_docs import TARGET, render


def test_csv_formats_doc_matches_the_importer():
    assert TARGET.read_text(encoding="utf-8") == render(), "run: python scripts/csv_docs.py"
