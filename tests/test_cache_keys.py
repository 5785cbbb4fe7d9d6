"""Cached answers are keyed by the code that computed them: a release never serves the previous one's."""
from __future__ import annotations

from dashapp import cache


def _fingerprint(monkeypatch, root) -> str:
    monkeypatch.setattr(cache, "ROOT", root)
    cache.code_fingerprint.cache_clear()
    try:
        return cache.code_fingerprint()
    finally:
        cache.code_fingerprint.cache_clear()


def test_the_fingerprint_follows_python_and_sql_sources_only(monkeypatch, tmp_path):
    services = tmp_path / "services"
    services.mkdir()
    (services / "query.py").write_text("ANSWER = 1\n")
    (services / "schema.sql").write_text("CREATE TABLE t (a INTEGER);\n")
    first = _fingerprint(monkeypatch, tmp_path)
    assert _fingerprint(monkeypatch, tmp_path) == first
    (services / "notes.txt").write_text("not code")
    assert _fingerprint(monkeypatch, tmp_path) == first
    (services / "schema.sql").write_text("CREATE TABLE t (a BIGINT);\n")
    second = _fingerprint(monkeypatch, tmp_path)
    assert second != first
    (services / "query.py").write_text("ANSWER = 2\n")
    assert _fingerprint(monkeypatch, tmp_path) not in (first, second)
