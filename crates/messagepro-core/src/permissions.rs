//! The permissions of the console (DESIGN.md). Roles are data (rows with a set of permission
//! names); this enum is the closed list of what a role may grant, so a typo in a route table or a
//! handler does not compile.

use std::fmt;
use std::str::FromStr;

/// One thing a user may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Dashboard, histories, contacts and groups (read).
    MessagingRead,
    /// Single SMS and SMS campaigns.
    SendSms,
    /// WhatsApp messages and campaigns.
    SendWhatsapp,
    /// Sending and verifying OTP codes.
    SendOtp,
    /// Creating, importing, editing contacts and groups.
    ManageContacts,
    /// Pausing and resuming other users' campaigns (one's own need only the send permission).
    ManageCampaigns,
    /// Users, roles, integration tokens.
    AdminUsers,
}

impl Permission {
    /// Every permission, in display order.
    pub const ALL: [Permission; 7] = [
        Permission::MessagingRead,
        Permission::SendSms,
        Permission::SendWhatsapp,
        Permission::SendOtp,
        Permission::ManageContacts,
        Permission::ManageCampaigns,
        Permission::AdminUsers,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::MessagingRead => "messaging.read",
            Permission::SendSms => "messaging.send_sms",
            Permission::SendWhatsapp => "messaging.send_whatsapp",
            Permission::SendOtp => "messaging.send_otp",
            Permission::ManageContacts => "messaging.manage_contacts",
            Permission::ManageCampaigns => "messaging.manage_campaigns",
            Permission::AdminUsers => "admin.users",
        }
    }
}

impl FromStr for Permission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown permission: {s}"))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in roles and their permissions, as seeded by the migrations (checked by a test).
pub const BUILTIN_ROLES: &[(&str, &[Permission])] = &[
    ("admin", &Permission::ALL),
    (
        "superviseur",
        &[
            Permission::MessagingRead,
            Permission::SendSms,
            Permission::SendWhatsapp,
            Permission::SendOtp,
            Permission::ManageContacts,
            Permission::ManageCampaigns,
        ],
    ),
    (
        "operateur",
        &[
            Permission::MessagingRead,
            Permission::SendSms,
            Permission::SendWhatsapp,
        ],
    ),
    ("lecteur", &[Permission::MessagingRead]),
];
