//! The endpoints, one module per API area. Each module adds an `impl Client` block with one
//! `async fn` per endpoint plus the request and response types of that area; all of them go
//! through the private request function in `client.rs`.
//!
//! | Module | Endpoints |
//! |---|---|
//! | [`account`] | `get/credits`, `get/subscription`, `get/earnings` |
//! | [`sms`] | `send/sms`, `send/sms.bulk`, `get/sms.sent`, `get/sms.pending`, `get/sms.received`, `delete/sms.sent`, `delete/sms.received` |
//! | [`campaigns`] | `get/sms.campaigns`, `get/wa.campaigns`, `remote/*` (4), `delete/sms.campaign`, `delete/wa.campaign` |
//! | [`whatsapp`] | `send/whatsapp`, `send/whatsapp.bulk`, `get/wa.*` (accounts, sent, pending, received, servers, qr, info, groups, group.contacts), `create/wa.link`, `create/wa.relink`, `delete/wa.account`, `delete/wa.sent`, `delete/wa.received`, `validate/whatsapp` |
//! | [`otp`] | `send/otp`, `get/otp` |
//! | [`contacts`] | `create/contact`, `create/group`, `get/contacts`, `get/groups`, `get/unsubscribed`, `delete/contact`, `delete/group`, `delete/unsubscribed` |
//! | [`devices`] | `get/devices`, `get/rates`, `get/shorteners`, `get/notifications`, `delete/notification` |
//! | [`ussd`] | `send/ussd`, `get/ussd`, `delete/ussd`, `clear/ussd` |
//! | [`probe`] | side-effect-free permission probes (used by `messagepro doctor`) |

pub mod account;
pub mod campaigns;
pub mod contacts;
pub mod devices;
pub mod otp;
pub mod probe;
pub mod sms;
pub mod ussd;
pub mod whatsapp;

use serde::Serialize;

/// The answer of a call whose only result is a success message (deletes, creates, queued sends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    /// The platform's success message, e.g. `Contact has been created!`.
    pub message: String,
}
