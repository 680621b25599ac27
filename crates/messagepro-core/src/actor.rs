//! Who asks for something: a console user (with the permissions of their role), an integration
//! API token (with its scopes) or the system itself (scheduled work). Core checks the actor's
//! right for the channel actually used and writes the actor into the audit entry.

use std::collections::BTreeSet;

use crate::permissions::Permission;

/// The author of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A console user.
    User {
        id: i64,
        username: String,
        permissions: BTreeSet<Permission>,
        /// Client IP (audit, OTP per-IP limit).
        ip: Option<String>,
    },
    /// An integration API token.
    Token {
        id: i64,
        name: String,
        /// `messages:send`, `otp`, …
        scopes: BTreeSet<String>,
        ip: Option<String>,
    },
    /// Work the system does on its own (`name`: what, e.g. `scheduler`).
    System { name: &'static str },
}

impl Actor {
    /// Whether this actor may do what `p` allows.
    pub fn can(&self, p: Permission) -> bool {
        match self {
            Actor::User { permissions, .. } => permissions.contains(&p),
            Actor::Token { scopes, .. } => {
                let scope = match p {
                    Permission::SendSms | Permission::SendWhatsapp => "messages:send",
                    Permission::SendOtp => "otp",
                    Permission::MessagingRead => "messages:read",
                    Permission::ManageContacts => "contacts",
                    Permission::AdminUsers | Permission::ManageCampaigns => return false,
                };
                scopes.contains(scope)
            }
            Actor::System { .. } => true,
        }
    }

    /// Whether this actor holds an integration API scope (`events`, `webhooks`…): a token with
    /// it, a console user with `admin.users`, the system.
    pub fn has_scope(&self, scope: &str) -> bool {
        match self {
            Actor::Token { scopes, .. } => scopes.contains(scope),
            Actor::User { permissions, .. } => permissions.contains(&Permission::AdminUsers),
            Actor::System { .. } => true,
        }
    }

    /// The integration token id, for a token actor.
    pub fn token_id(&self) -> Option<i64> {
        match self {
            Actor::Token { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The console user id (recorded as `created_by`).
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The name written in the audit log (`token:<name>`, `system:<name>` for non-users).
    pub fn audit_name(&self) -> String {
        match self {
            Actor::User { username, .. } => username.clone(),
            Actor::Token { name, .. } => format!("token:{name}"),
            Actor::System { name } => format!("system:{name}"),
        }
    }

    pub fn ip(&self) -> Option<&str> {
        match self {
            Actor::User { ip, .. } | Actor::Token { ip, .. } => ip.as_deref(),
            Actor::System { .. } => None,
        }
    }
}
