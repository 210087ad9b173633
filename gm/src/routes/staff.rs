//! Staff: who is calling, signing in and out, and the personal accounts admins manage.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::config::Role;
use common::proxy::Peer;
use common::store::login_guard::{self, Mode};
use common::store::{staff_set, staff_token};

use crate::AppState;
use crate::audit;
use crate::auth::{Admin, Staff, Viewer};
use crate::error::{ApiError, ErrorBody, JsonBody, PathParam};
use crate::model::*;
use crate::staff;

/// The name and role of the caller.
#[utoipa::path(get, path = "/api/whoami", operation_id = "whoami", tag = "ops",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn whoami(Viewer(staff): Viewer) -> axum::Json<WhoAmI> {
    axum::Json(WhoAmI { name: staff.name, role: staff.role.name().to_owned() })
}

/// Sign in with a personal account: name, password and the current TOTP code of its authenticator
/// app. The answer's token is the bearer token of the session, which ends after
/// `gm.staff_session_idle_s` without a request, `gm.staff_session_max_s` after this, or at logout.
/// After `gm.staff_login_max_failures` failures of an account within `gm.staff_login_window_s`,
/// 429 until the window ends. Every failure is in the audit log.
#[utoipa::path(post, path = "/api/staff/login", operation_id = "staff_login", tag = "staff", request_body = StaffLogin,
    responses((status = 200, body = StaffSession), (status = 400, body = ErrorBody),
              (status = 401, description = "wrong name, password or code (`bad_login`; which is not told)", body = ErrorBody),
              (status = 429, description = "too many failed logins (`too_many_attempts`, Retry-After)", body = ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    JsonBody(body): JsonBody<StaffLogin>,
) -> Result<axum::Json<StaffSession>, ApiError> {
    staff::check_name(&body.name).map_err(|_| ApiError::BadLogin)?;
    let client = crate::access::client(&headers, peer.as_ref().map(|Extension(p)| p));
    let cfg = &st.cfg.gm;
    let account_key = format!("staff:{}", body.name);
    let addr_group = common::net::addr_group(&client);
    let guard = |mode| login_guard::Args {
        addr_group: &addr_group,
        account: &account_key,
        mode,
        window_ms: cfg.staff_login_window_s * 1000,
        pair_limit: cfg.staff_login_max_failures,
        addr_limit: cfg.staff_login_max_failures * 4,
        account_limit: cfg.staff_login_max_failures * 2,
        known_ttl_ms: cfg.staff_session_max_s * 1000,
    };
    if let login_guard::Outcome::Refused { retry_after_ms, .. } =
        login_guard::call(&st.redis, &guard(Mode::Attempt)).await?
    {
        failed(&st, &body.name, &client, "throttled").await?;
        return Err(ApiError::TooManyAttempts(retry_after_ms.div_ceil(1000)));
    }
    let account = staff::account(&st, &body.name).await?;
    let right = staff::verify_password(account.as_ref().map(|a| a.pw.clone()), body.password.clone()).await;
    let account = match account {
        Some(a) if right && !a.disabled && staff::check_code(&st, &a, &body.code).await? => a,
        _ => {
            failed(&st, &body.name, &client, "wrong name, password or code, or disabled").await?;
            return Err(ApiError::BadLogin);
        }
    };
    login_guard::call(&st.redis, &guard(Mode::Success)).await?;
    let (token, expires_at) = staff::open_session(&st, &account.name).await?;
    let who = Staff { name: account.name.clone(), role: account.role };
    push_audit(&st, &who, "staff.login", &format!("staff:{}", who.name), &serde_json::json!({ "client": client }))
        .await?;
    audit::log(&who, "staff.login", &client);
    Ok(axum::Json(StaffSession {
        token,
        name: account.name,
        role: account.role.name().to_owned(),
        expires_at,
        idle_timeout_s: cfg.staff_session_idle_s,
    }))
}

/// A failed login: logged, and in the audit log under the name tried.
async fn failed(st: &AppState, name: &str, client: &str, why: &str) -> Result<(), ApiError> {
    tracing::warn!(staff.name = %name, %client, "staff login refused: {why}");
    let who = Staff { name: name.to_owned(), role: Role::Viewer };
    push_audit(
        st,
        &who,
        "staff.login_failed",
        &format!("staff:{name}"),
        &serde_json::json!({ "client": client, "why": why }),
    )
    .await
}

/// An audit record of something that changes no state of its own (a login, a logout).
async fn push_audit(
    st: &AppState,
    who: &Staff,
    action: &str,
    target: &str,
    payload: &serde_json::Value,
) -> Result<(), ApiError> {
    let record = audit::record(who, action, target, payload);
    let _: i64 = fred::interfaces::ListInterface::lpush(
        &st.redis.pool,
        st.redis.keys.outbox(common::shards::Home::Global),
        record,
    )
    .await?;
    Ok(())
}

/// End the caller's session (its token stops working at once). A shared token from the config has
/// no session: 204 all the same.
#[utoipa::path(post, path = "/api/staff/logout", operation_id = "staff_logout", tag = "staff",
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(
    State(st): State<AppState>,
    Viewer(who): Viewer,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = crate::auth::bearer(&headers).unwrap_or_default();
    staff::close_session(&st, token).await?;
    if token.starts_with(staff::SESSION_PREFIX) {
        push_audit(&st, &who, "staff.logout", &format!("staff:{}", who.name), &serde_json::json!({})).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The personal staff accounts (admin), oldest first; no secrets.
#[utoipa::path(get, path = "/api/staff", operation_id = "list_staff", tag = "staff",
    responses((status = 200, body = StaffList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(st): State<AppState>, Admin(_admin): Admin) -> Result<axum::Json<StaffList>, ApiError> {
    let names: Vec<String> = fred::interfaces::SortedSetsInterface::zrange(
        &st.redis.pool,
        st.redis.keys.staff_names(),
        0,
        -1,
        None,
        false,
        None,
        false,
    )
    .await?;
    let mut items = Vec::with_capacity(names.len());
    for name in names {
        if let Some(a) = staff::account(&st, &name).await? {
            items.push(view(&a));
        }
    }
    Ok(axum::Json(StaffList { items }))
}

/// Create a personal staff account (admin): name, role and a first password. The answer holds the
/// account's TOTP secret and its `otpauth://` address, **shown this once**: give them to the person,
/// whose authenticator app reads them; without a current code nobody can sign in as them.
#[utoipa::path(post, path = "/api/staff", operation_id = "create_staff", tag = "staff", request_body = NewStaff,
    responses((status = 201, body = StaffCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "the name is taken (`exists`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<NewStaff>,
) -> Result<(StatusCode, axum::Json<StaffCreated>), ApiError> {
    staff::check_name(&body.name)?;
    let role = Role::parse(&body.role).ok_or_else(|| ApiError::invalid("role", "viewer, operator or admin"))?;
    staff::check_password(&body.password)?;
    // A config token's name would make the audit log ambiguous.
    if st.cfg.gm.tokens.iter().any(|t| t.name == body.name) {
        return Err(ApiError::conflict("exists", format!("{:?} is the name of a token in gm.tokens", body.name)));
    }
    let pw = staff::hash_password(body.password.clone()).await?;
    let (secret, url) = staff::new_totp(&body.name)?;
    let record = audit::record(
        &admin,
        "staff.create",
        &format!("staff:{}", body.name),
        &serde_json::json!({ "role": role.name() }),
    );
    let fields = [
        ("role", role.name()),
        ("pw", pw.as_str()),
        ("totp", secret.as_str()),
        ("disabled", "0"),
        ("created_by", admin.name.as_str()),
    ];
    let args = staff_set::Args {
        mode: staff_set::Mode::Create,
        name: &body.name,
        now_ms: common::time::now_ms(),
        audit: &record,
        fields: &fields,
    };
    match staff_set::call(&st.redis, &args).await? {
        staff_set::Outcome::Saved { .. } => {}
        staff_set::Outcome::Exists => {
            return Err(ApiError::conflict("exists", format!("there is a staff account named {:?}", body.name)));
        }
        staff_set::Outcome::NoStaff => return Err(ApiError::Internal),
    }
    audit::log(&admin, "staff.create", &format!("staff:{}", body.name));
    let account = staff::account(&st, &body.name).await?.ok_or(ApiError::Internal)?;
    Ok((StatusCode::CREATED, axum::Json(StaffCreated { account: view(&account), totp_secret: secret, totp_url: url })))
}

/// Change a staff account (admin): its role, disable it (every session of it stops at once) or
/// enable it again, set a new password, or give it a new TOTP secret (answered this once; the old
/// one stops working).
#[utoipa::path(patch, path = "/api/staff/{name}", operation_id = "edit_staff", tag = "staff", params(("name" = String, Path, description = "staff name")),
    request_body = StaffEdit,
    responses((status = 200, body = StaffEdited), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn edit(
    State(st): State<AppState>,
    Admin(admin): Admin,
    PathParam(name): PathParam<String>,
    JsonBody(body): JsonBody<StaffEdit>,
) -> Result<axum::Json<StaffEdited>, ApiError> {
    let role = body
        .role
        .as_deref()
        .map(|r| Role::parse(r).ok_or_else(|| ApiError::invalid("role", "viewer, operator or admin")))
        .transpose()?;
    let pw = match &body.password {
        Some(p) => {
            staff::check_password(p)?;
            Some(staff::hash_password(p.clone()).await?)
        }
        None => None,
    };
    let totp = if body.new_totp { Some(staff::new_totp(&name)?) } else { None };
    let mut fields: Vec<(&str, &str)> = Vec::new();
    if let Some(r) = role {
        fields.push(("role", r.name()));
    }
    if let Some(d) = body.disabled {
        fields.push(("disabled", if d { "1" } else { "0" }));
    }
    if let Some(p) = &pw {
        fields.push(("pw", p));
    }
    if let Some((secret, _)) = &totp {
        fields.push(("totp", secret));
    }
    if fields.is_empty() {
        return Err(ApiError::invalid("body", "nothing to change: role, disabled, password or new_totp"));
    }
    // What changed, without the secrets.
    let changed = serde_json::json!({
        "role": body.role, "disabled": body.disabled, "password": body.password.is_some(), "new_totp": body.new_totp,
    });
    let record = audit::record(&admin, "staff.edit", &format!("staff:{name}"), &changed);
    let args = staff_set::Args {
        mode: staff_set::Mode::Update,
        name: &name,
        now_ms: common::time::now_ms(),
        audit: &record,
        fields: &fields,
    };
    match staff_set::call(&st.redis, &args).await? {
        staff_set::Outcome::Saved { .. } => {}
        staff_set::Outcome::NoStaff => return Err(ApiError::NotFound(format!("no staff account {name:?}"))),
        staff_set::Outcome::Exists => return Err(ApiError::Internal),
    }
    audit::log(&admin, "staff.edit", &format!("staff:{name}"));
    let account = staff::account(&st, &name).await?.ok_or(ApiError::Internal)?;
    let (totp_secret, totp_url) = totp.map_or((None, None), |(s, u)| (Some(s), Some(u)));
    Ok(axum::Json(StaffEdited { account: view(&account), totp_secret, totp_url }))
}

fn view(a: &staff::Account) -> StaffView {
    StaffView {
        name: a.name.clone(),
        role: a.role.name().to_owned(),
        disabled: a.disabled,
        created_by: a.created_by.clone(),
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// Make an API token for automation (admin): it acts for `owner`, a staff account, with at most
/// `role` (never more than the owner's), until it expires; the audit log names the owner. The
/// token is **shown this once**; gm keeps its SHA-256 only.
#[utoipa::path(post, path = "/api/staff/tokens", operation_id = "create_api_token", tag = "staff", request_body = NewApiToken,
    responses((status = 201, body = ApiTokenCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "no such staff account", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_token(
    State(st): State<AppState>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<NewApiToken>,
) -> Result<(StatusCode, axum::Json<ApiTokenCreated>), ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| ApiError::invalid("role", "viewer, operator or admin"))?;
    let days = body.expires_in_days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(ApiError::invalid("expires_in_days", "1 to 365"));
    }
    if staff::account(&st, &body.owner).await?.is_none() {
        return Err(ApiError::NotFound(format!("no staff account {:?}", body.owner)));
    }
    let token = staff::new_token(staff::TOKEN_PREFIX);
    let id = uuid::Uuid::now_v7().simple().to_string();
    let now = common::time::now_ms();
    let view = ApiTokenView {
        id: id.clone(),
        owner: body.owner.clone(),
        role: role.name().to_owned(),
        created_by: admin.name.clone(),
        created_at: now,
        expires_at: now + days * 86_400_000,
        last_used: None,
    };
    let record = audit::record(&admin, "staff.token_create", &format!("staff:{}", body.owner), &view);
    let digest = staff::digest(&token);
    let action = staff_token::Action::Create {
        digest: &digest,
        owner: &body.owner,
        role: role.name(),
        created_by: &admin.name,
        expires_at_ms: view.expires_at,
    };
    match staff_token::call(&st.redis, &staff_token::Args { id: &id, action, now_ms: now, audit: &record }).await? {
        staff_token::Outcome::Created => {}
        other => {
            tracing::error!(token.id = %id, "staff_token.lua answered {other:?} for a new token");
            return Err(ApiError::Internal);
        }
    }
    audit::log(&admin, "staff.token_create", &format!("token:{id}"));
    Ok((StatusCode::CREATED, axum::Json(ApiTokenCreated { view, token })))
}

/// The API tokens (admin): owner, role, expiry and last use; never the token.
#[utoipa::path(get, path = "/api/staff/tokens", operation_id = "list_api_tokens", tag = "staff",
    responses((status = 200, body = ApiTokenList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tokens(
    State(st): State<AppState>,
    Admin(_admin): Admin,
) -> Result<axum::Json<ApiTokenList>, ApiError> {
    let items = staff::api_tokens(&st)
        .await?
        .into_iter()
        .map(|f| {
            let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
            ApiTokenView {
                id: f.get("id").cloned().unwrap_or_default(),
                owner: f.get("owner").cloned().unwrap_or_default(),
                role: f.get("role").cloned().unwrap_or_default(),
                created_by: f.get("created_by").cloned().unwrap_or_default(),
                created_at: num("created_at").unwrap_or(0),
                expires_at: num("expires_at").unwrap_or(0),
                last_used: num("last_used"),
            }
        })
        .collect();
    Ok(axum::Json(ApiTokenList { items }))
}

/// Revoke an API token (admin): it stops working at once.
#[utoipa::path(post, path = "/api/staff/tokens/{id}/revoke", operation_id = "revoke_api_token", tag = "staff",
    params(("id" = String, Path, description = "token id")),
    responses((status = 204, description = "revoked"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "no such token (revoked, expired or never made)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_token(
    State(st): State<AppState>,
    Admin(admin): Admin,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let digest: Option<String> =
        fred::interfaces::HashesInterface::hget(&st.redis.pool, st.redis.keys.staff_token_ids(), &id).await?;
    let Some(digest) = digest else { return Err(ApiError::NotFound(format!("no API token {id}"))) };
    let record = audit::record(&admin, "staff.token_revoke", &format!("token:{id}"), &serde_json::json!({}));
    let args = staff_token::Args {
        id: &id,
        action: staff_token::Action::Revoke { digest: &digest },
        now_ms: common::time::now_ms(),
        audit: &record,
    };
    match staff_token::call(&st.redis, &args).await? {
        staff_token::Outcome::Revoked => {
            audit::log(&admin, "staff.token_revoke", &format!("token:{id}"));
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::NotFound(format!("no API token {id} (revoked or expired)"))),
    }
}
