//! Who is calling: the console asks once after sign-in, to draw only what the role may do.

use crate::auth::Viewer;
use crate::error::ErrorBody;
use crate::model::WhoAmI;

/// The name and role of the calling token.
#[utoipa::path(get, path = "/api/whoami", operation_id = "whoami", tag = "ops",
    responses((status = 200, body = WhoAmI), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn whoami(Viewer(staff): Viewer) -> axum::Json<WhoAmI> {
    axum::Json(WhoAmI { name: staff.name, role: staff.role.name().to_owned() })
}
