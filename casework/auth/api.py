from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth import service
from casework.auth.current import auth_required, current_user
from casework.auth.schemas import ApiKeySchema, TokenRequestSchema, TokenSchema, UserCreateSchema, UserSchema
from casework.extensions import db, redis_store

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Bearer tokens")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="User accounts")
BEARER = [{"bearerAuth": []}]


@blp.route("/token")
class Token(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(401, description="Invalid username or password")
    @blp.alt_response(429, description="Too many failed logins")
    def post(self, body):
        """Exchange a username and password for a bearer token."""
        cfg = current_app.config
        user = service.authenticate(session=db.session, redis=redis_store.client, username=body["username"],
                                    password=body["password"], addr=request.remote_addr or "unknown", settings=cfg)
        return service.issue_token(user=user, secret=cfg["SECRET_KEY"], ttl_seconds=cfg["TOKEN_TTL_SECONDS"])


@blp.route("/logout")
class Logout(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.response(204)
    def post(self):
        """Revoke every token of the caller."""
        service.revoke_tokens(session=db.session, user=current_user())


@users_blp.route("")
class Users(MethodView):
    @auth_required("admin")
    @users_blp.doc(security=BEARER)
    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    @users_blp.alt_response(403, description="Not an admin, or the unit is outside the admin's subtree")
    def post(self, body):
        """Create a user (admin only, inside the admin's own subtree)."""
        return service.create_user(session=db.session, username=body["username"], password=body["password"],
                                   role=body["role"], unit_code=body["unit"], actor=current_user(),
                                   fast_hash=bool(current_app.config.get("ARGON2_FAST")))


@users_blp.route("/me")
class Me(MethodView):
    @auth_required()
    @users_blp.doc(security=BEARER)
    @users_blp.response(200, UserSchema)
    def get(self):
        """The caller's own account."""
        return current_user()


@users_blp.route("/<int:user_id>/api-key")
class ApiKey(MethodView):
    @auth_required("admin")
    @users_blp.doc(security=BEARER)
    @users_blp.response(201, ApiKeySchema)
    def post(self, user_id):
        """Issue a new API key (Open311 clients) for a user in the admin's subtree; shown once."""
        return {"user_id": user_id, "api_key": service.issue_api_key(session=db.session, user_id=user_id,
                                                                     actor=current_user())}
