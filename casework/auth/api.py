from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from casework.auth import service
from casework.auth.current import auth_required, current_user
from casework.auth.schemas import (ApiKeySchema, PasswordChangeSchema, TokenRequestSchema, TokenSchema,
                                   UserCreateSchema, UserListQuerySchema, UserPageSchema, UserSchema, UserUpdateSchema)
from casework.common.pagination import paginate
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


@blp.route("/password")
class Password(MethodView):
    @auth_required()
    @blp.doc(security=BEARER)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(422, description="The current password is wrong, or the new one fails the policy")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, body):
        """Change the caller's own password; every token the caller holds is revoked (log in again)."""
        cfg = current_app.config
        service.change_own_password(session=db.session, redis=redis_store.client, user=current_user(),
                                    current=body["current_password"], new=body["new_password"],
                                    addr=request.remote_addr or "unknown", settings=cfg,
                                    fast_hash=bool(cfg.get("ARGON2_FAST")))


@users_blp.route("")
class Users(MethodView):
    @auth_required("admin")
    @users_blp.doc(security=BEARER)
    @users_blp.arguments(UserListQuerySchema, location="query")
    @users_blp.response(200, UserPageSchema)
    def get(self, args):
        """The accounts in the admin's subtree (admin only)."""
        stmt = service.list_users(session=db.session, actor=current_user(), filters=args)
        return paginate(db.session, stmt, page=args["page"], page_size=args["page_size"])

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


@users_blp.route("/<int:user_id>")
class UserDetail(MethodView):
    @auth_required("admin")
    @users_blp.doc(security=BEARER)
    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    @users_blp.alt_response(404, description="No such user in the admin's subtree")
    def patch(self, body, user_id):
        """Disable or re-enable an account, or reset its password (admin only, inside its subtree).

        Either revokes every token of the account from its next request; a disabled account's API key stops
        working too."""
        return service.update_user(session=db.session, user_id=user_id, actor=current_user(), changes=body,
                                   fast_hash=bool(current_app.config.get("ARGON2_FAST")))


@users_blp.route("/<int:user_id>/api-key")
class ApiKey(MethodView):
    @auth_required("admin")
    @users_blp.doc(security=BEARER)
    @users_blp.response(201, ApiKeySchema)
    def post(self, user_id):
        """Issue a new API key (Open311 clients) for a user in the admin's subtree; shown once."""
        return {"user_id": user_id, "api_key": service.issue_api_key(session=db.session, user_id=user_id,
                                                                     actor=current_user())}
