//! The `/api/{group}/{action}` dispatcher: common preamble (secret lookup, 1.3), unknown-action
//! answers per group (1.1), the envelope helpers (1.4) and pagination (1.8). Each group's
//! actions live in their own module and follow the evaluation order of the spec's tables.

mod create;
mod delete;
mod get;
mod message;
mod remote;
mod send;

use serde_json::{Value, json};

use crate::model::{ApiKey, State};
use crate::params::{Params, int_rule};

/// What an endpoint answers.
pub enum Reply {
    /// The JSON envelope (always HTTP 200).
    Json(Value),
    /// A PNG image (`get/wa.qr`).
    Png(Vec<u8>),
    /// The framework's answer for an unknown group (not the envelope).
    NotFound,
}

/// Handlers return the success reply or an error reply, so `?` short-circuits on errors.
pub type Out = Result<Reply, Reply>;

pub const INVALID: &str = "Invalid Parameters!";
pub const NO_PERMISSION: &str = "This API key doesn't have permission to use this endpoint!";
pub const WA_UNREACHABLE: &str = "Unable to connect to WhatsApp servers!";
pub const WENT_WRONG: &str = "Something went wrong!";
pub const INVALID_SECRET: &str = "Invalid API secret supplied!";

/// An error envelope.
pub fn fail(status: u16, message: impl Into<String>) -> Reply {
    Reply::Json(json!({ "status": status, "message": message.into(), "data": false }))
}

/// A success envelope.
pub fn ok(message: impl Into<String>, data: Value) -> Out {
    Ok(Reply::Json(
        json!({ "status": 200, "message": message.into(), "data": data }),
    ))
}

/// `Err(fail(..))`, for early returns.
pub fn bail<T>(status: u16, message: impl Into<String>) -> Result<T, Reply> {
    Err(fail(status, message))
}

/// A webhook delivery to perform after the state lock is released.
pub struct Hook {
    pub url: String,
    pub form: Vec<(String, String)>,
}

/// Everything an action needs.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub p: &'a Params,
    pub user: u64,
    pub key: ApiKey,
    pub secret: String,
}

impl Ctx<'_> {
    /// P3: the key must carry `perm`.
    pub fn need(&self, perm: &str) -> Result<(), Reply> {
        if self.key.has(perm) {
            Ok(())
        } else {
            bail(403, NO_PERMISSION)
        }
    }

    /// A required parameter or `400 Invalid Parameters!`.
    pub fn req(&self, key: &str) -> Result<String, Reply> {
        self.p
            .get(key)
            .map(str::to_string)
            .ok_or_else(|| fail(400, INVALID))
    }

    pub fn opt(&self, key: &str) -> Option<String> {
        self.p.get(key).map(str::to_string)
    }

    /// The caller's account (checked by [`dispatch`]; a lookup, never an index under the lock).
    pub fn account(&self) -> Result<&crate::model::Account, Reply> {
        self.st
            .world
            .accounts
            .get(&self.user)
            .ok_or_else(|| fail(401, INVALID_SECRET))
    }

    /// Pagination (1.8): (offset, limit).
    pub fn page(&self) -> Result<(usize, usize), Reply> {
        let limit = match self.p.get("limit") {
            Some(v) => int_rule(v)
                .ok_or_else(|| fail(400, INVALID))?
                .unsigned_abs() as usize,
            None => 10,
        };
        let page = match self.p.get("page") {
            Some(v) => int_rule(v)
                .ok_or_else(|| fail(400, INVALID))?
                .unsigned_abs() as usize,
            None => 1,
        };
        let offset = if page < 2 {
            0
        } else {
            page.saturating_mul(limit)
        };
        Ok((offset, limit))
    }

    /// `500 Something went wrong!` when the database-failure knob is on.
    pub fn db(&self) -> Result<(), Reply> {
        if self.st.world.settings.db_fail {
            bail(500, WENT_WRONG)
        } else {
            Ok(())
        }
    }
}

/// Applies pagination to an already ordered list.
pub fn paginate(items: impl Iterator<Item = Value>, (offset, limit): (usize, usize)) -> Value {
    Value::Array(items.skip(offset).take(limit).collect())
}

/// Dispatches `/api/...` (the path without the query string).
pub fn dispatch(st: &mut State, path: &str, p: &Params) -> Reply {
    let rest = path.trim_start_matches('/');
    let mut segs = rest.split('/');
    let _api = segs.next();
    let group = segs.next().unwrap_or("");
    let action = crate::text::escape(segs.next().unwrap_or(""));
    if group.is_empty() {
        return Reply::Json(json!({ "status": 401, "message": false, "data": false }));
    }
    if !matches!(
        group,
        "send" | "get" | "create" | "delete" | "remote" | "clear" | "validate"
    ) {
        return Reply::NotFound;
    }
    if group == "get" && (action == "wa.qr" || action == "wa.info") {
        return get::qr_token(st, &action, p).unwrap_or_else(|e| e);
    }
    let Some(secret) = p.get("secret") else {
        return fail(400, INVALID);
    };
    // a key whose user has no account (created through `/_sim/key` for an unknown user) is
    // refused like an unknown secret: the platform joins keys to users
    let Some(key) = st
        .keys
        .get(secret)
        .filter(|k| st.world.accounts.contains_key(&k.user))
        .cloned()
    else {
        return fail(401, INVALID_SECRET);
    };
    let mut c = Ctx {
        user: key.user,
        key,
        secret: secret.to_string(),
        st,
        p,
    };
    let out = match group {
        "send" => send::dispatch(&mut c, &action),
        "get" => get::dispatch(&mut c, &action),
        "create" => create::dispatch(&mut c, &action),
        "delete" => delete::dispatch(&mut c, &action),
        _ => remote::dispatch(&mut c, group, &action),
    };
    out.unwrap_or_else(|e| e)
}
