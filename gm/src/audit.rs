//! The audit trail: every mutating call appends a change record (who, what, target, payload,
//! when) to the outbox inside the same script as the change, and logs it.

use serde::Serialize;

use crate::auth::Staff;

#[derive(Serialize)]
struct Record<'a> {
    ts: u64,
    table: &'static str,
    key: String,
    ver: u32,
    fields: Fields<'a>,
}

#[derive(Serialize)]
struct Fields<'a> {
    who: &'a str,
    role: &'static str,
    action: &'a str,
    target: &'a str,
    payload: String,
    ts: u64,
}

/// The MessagePack change record of `staff` doing `action` to `target` with `payload`.
pub fn record(staff: &Staff, action: &str, target: &str, payload: &impl Serialize) -> Vec<u8> {
    let payload = serde_json::to_string(payload).unwrap_or_default();
    let ts = common::time::now_ms();
    let rec = Record {
        ts,
        table: "audit",
        // Time-ordered (v7): entries of one gm sort in the order they were made, even within a millisecond.
        key: uuid::Uuid::now_v7().simple().to_string(),
        ver: 1,
        fields: Fields {
            who: &staff.name,
            role: staff.role.name(),
            action,
            target,
            payload,
            ts: common::time::now_ms(),
        },
    };
    rmp_serde::to_vec_named(&rec).expect("an audit record serializes")
}

/// Logs a staff action that took effect.
pub fn log(staff: &Staff, action: &str, target: &str) {
    tracing::info!(audit.who = %staff.name, audit.role = staff.role.name(), audit.action = action, audit.target = target, "staff action");
}
