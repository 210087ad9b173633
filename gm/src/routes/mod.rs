//! Every route, registered with its OpenAPI description (utoipa), so the document cannot miss one.

pub mod accounts;
pub mod announcements;
pub mod approvals;
pub mod audit_log;
pub mod bans;
pub mod dead;
pub mod drain;
pub mod edit;
pub mod lifecycle;
pub mod markets;
pub mod matches;
pub mod notices;
pub mod ops;
pub mod orders;
pub mod payments;
pub mod reload;
pub mod reports;
pub mod search;
pub mod staff;
pub mod users;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "matchday gm", description = "The staff API: matches, odds, results, users (grants, bans), payments, announcements, operations. \
        Authenticate with `Authorization: Bearer <token>`; roles viewer < operator < admin."),
    modifiers(&BearerAuth),
    tags(
        (name = "matches", description = "create, import, list, read"),
        (name = "lifecycle", description = "state changes, odds and results (409 when not allowed)"),
        (name = "markets", description = "a match's markets: add one; each one's state, odds and result"),
        (name = "users"), (name = "payments"),
        (name = "staff", description = "personal staff accounts: sign in with a password and a TOTP code; admins create, change and disable them"), (name = "announcements"), (name = "ops"),
        (name = "reports", description = "reports and the audit log, from the MySQL record"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The staff API routes and their OpenAPI document (the payment callback is apart: [`payments`]).
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(matches::create, matches::list))
        .routes(routes!(matches::import))
        .routes(routes!(matches::detail, edit::edit_match))
        .routes(routes!(lifecycle::approve))
        .routes(routes!(lifecycle::open))
        .routes(routes!(lifecycle::suspend))
        .routes(routes!(lifecycle::start))
        .routes(routes!(lifecycle::cancel))
        .routes(routes!(lifecycle::close))
        .routes(routes!(lifecycle::result))
        .routes(routes!(lifecycle::odds))
        .routes(routes!(markets::add))
        .routes(routes!(edit::edit_market))
        .routes(routes!(markets::result))
        .routes(routes!(markets::odds))
        .routes(routes!(markets::act))
        .routes(routes!(users::find))
        .routes(routes!(search::users))
        .routes(routes!(search::bets))
        .routes(routes!(users::detail))
        .routes(routes!(staff::whoami))
        .routes(routes!(staff::login))
        .routes(routes!(staff::logout))
        .routes(routes!(staff::list, staff::create))
        .routes(routes!(staff::edit))
        .routes(routes!(staff::create_token, staff::list_tokens))
        .routes(routes!(staff::revoke_token))
        .routes(routes!(users::grant))
        .routes(routes!(orders::create))
        .routes(routes!(approvals::list))
        .routes(routes!(approvals::detail))
        .routes(routes!(approvals::approve))
        .routes(routes!(approvals::reject))
        .routes(routes!(bans::ban))
        .routes(routes!(accounts::reset_password))
        .routes(routes!(accounts::history))
        .routes(routes!(bans::unban))
        .routes(routes!(announcements::create))
        .routes(routes!(notices::create, notices::list))
        .routes(routes!(notices::detail))
        .routes(routes!(notices::withdraw))
        .routes(routes!(ops::stats))
        .routes(routes!(ops::nodes))
        .routes(routes!(ops::queues))
        .routes(routes!(reload::reload))
        .routes(routes!(drain::drain))
        .routes(routes!(dead::lists))
        .routes(routes!(dead::entries))
        .routes(routes!(dead::requeue))
        .routes(routes!(reports::report))
        .routes(routes!(audit_log::list))
}

/// The payment provider's callback, which may be served on a listener of its own
/// (`gm.payments_listen`).
pub fn payments() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(payments::callback))
}

/// The whole OpenAPI document: the staff API and the payment callback.
pub fn document() -> utoipa::openapi::OpenApi {
    api().merge(payments()).split_for_parts().1
}
