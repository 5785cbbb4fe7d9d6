"""The audit log: who did what, when, from where."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.models import AuditLog


def record(session: Session, action: str, username: str | None, ip: str | None = None,
           **detail: Any) -> None:
    session.add(AuditLog(action=action, username=username, ip=ip, detail=detail or None))
