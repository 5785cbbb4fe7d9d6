"""Authentication: Flask-Login, the login/logout routes and the guard in front of every route."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashapp.database import get_session
from dashapp.safe_redirect import safe_next
from services import audit
from services.models import User
from services.users import authenticate

# Endpoints reachable without logging in; every other route requires a session.
PUBLIC_ENDPOINTS = frozenset({"login", "static", "health"})
LOGIN_FAILED = "Invalid username or password."


@dataclass(frozen=True)
class SessionUser(UserMixin):
    """The logged-in user as Flask-Login sees it; detached from any database session."""

    id: int
    username: str
    role: str
    country_scope: tuple[str, ...] | None
    session_version: int

    def get_id(self) -> str:
        # The version makes old sessions invalid once it is bumped (logout everywhere, password change).
        return f"{self.id}:{self.session_version}"

    @classmethod
    def from_model(cls, user: User) -> "SessionUser":
        scope = tuple(user.country_scope) if user.country_scope else None
        return cls(user.id, user.username, user.role, scope, user.session_version)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


def load_user(user_key: str) -> SessionUser | None:
    user_id, _, version = user_key.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = get_session().scalar(select(User).where(User.id == int(user_id)))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return SessionUser.from_model(user)


def _wants_data() -> bool:
    """Dash callbacks, assets and non-GET requests get a 401, not a login redirect."""
    path = request.path
    return (request.method != "GET" or path.startswith(("/_dash-", "/_reload-hash", "/_favicon", "/assets/"))
            or request.accept_mimetypes.best == "application/json")


def require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if _wants_data():
        return jsonify(error="authentication required"), 401
    return redirect(url_for("login", next=request.full_path.rstrip("?")))


def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    error = None
    if form.validate_on_submit():
        session = get_session()
        user = authenticate(session, form.username.data, form.password.data)
        audit.record(session, "login" if user else "login_failed", form.username.data[:64],
                     ip=request.remote_addr)
        session.commit()
        if user:
            login_user(SessionUser.from_model(user))
            return redirect(safe_next(form.next.data))
        error = LOGIN_FAILED
    elif request.method == "POST":
        error = "Your session expired. Please try again." if "csrf_token" in form.errors else LOGIN_FAILED
    form.next.data = form.next.data or request.args.get("next", "")
    return render_template("login.html", form=form, error=error), (401 if error else 200)


def logout():
    form = FlaskForm()  # CSRF check only
    if form.validate_on_submit():
        session = get_session()
        audit.record(session, "logout", current_user.username, ip=request.remote_addr)
        session.commit()
        logout_user()
        return redirect(url_for("login"))
    return jsonify(error="invalid logout request"), 400


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.user_loader(load_user)
    manager.session_protection = "basic"
    app.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "logout", logout, methods=["POST"])
    app.before_request(require_login)
