//! The life cycle of 3.10 on the simulated clock: handsets fetch pending SMS (quota counter +1,
//! or failed when the quota is full) and report them sent/failed, the WhatsApp server does the
//! same for chats, USSD requests get answered, gateway callbacks complete, campaigns finish.
//! Also inbound traffic (SMS, chats, notifications) with the "stop" → unsubscribed rule and the
//! platform's webhook form POSTs (2.8).

use rand::Rng;

use crate::SimError;
use crate::api::Hook;
use crate::model::{
    CampaignState, Notification, ReceivedSms, SendState, SmsMode, State, Unsubscribed, UssdState,
    WaReceived, limit_reached,
};

/// Which transitions a tick performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Only pick-ups (1 → 2).
    Fetch,
    /// Pick-ups and reports (→ 3/4).
    All,
}

fn campaign_running_sms(st: &State, cid: u64) -> bool {
    cid == 0
        || st
            .sms_campaigns
            .get(&cid)
            .is_none_or(|c| c.status == CampaignState::Running)
}

fn campaign_running_wa(st: &State, cid: u64) -> bool {
    cid == 0
        || st
            .wa_campaigns
            .get(&cid)
            .is_none_or(|c| c.status == CampaignState::Running)
}

fn webhook(st: &State, kind: &str, data: Vec<(&str, String)>) -> Option<Hook> {
    let wh = st.webhook.as_ref()?;
    let mut form = vec![
        ("secret".to_string(), wh.secret.clone()),
        ("type".to_string(), kind.to_string()),
    ];
    form.extend(data.into_iter().map(|(k, v)| (format!("data[{k}]"), v)));
    Some(Hook {
        url: wh.url.clone(),
        form,
    })
}

impl State {
    /// Runs every due transition. `force` ignores the pace (everything is due now).
    pub fn tick(&mut self, force: bool, stage: Stage) -> Vec<Hook> {
        let now = self.now();
        let pace = self.pace;
        let mut hooks = Vec::new();
        // SMS pick-up (1 → 2 or 4).
        let due: Vec<u64> = self
            .sms
            .values()
            .filter(|s| {
                !s.deleted
                    && s.status == SendState::Pending
                    && (force || now - s.create_date >= pace.pickup_secs)
            })
            .filter(|s| self.world.devices.get(&s.did).is_some_and(|d| d.online))
            .filter(|s| campaign_running_sms(self, s.cid))
            .map(|s| s.id)
            .collect();
        for id in due {
            let Some((user, mode)) = self.sms.get(&id).map(|s| (s.user, s.mode)) else {
                continue;
            };
            let limit = self.package(user).map(|p| p.send_limit).unwrap_or(0);
            let full = mode == SmsMode::Devices && limit_reached(self.quota(user).sent, limit);
            if mode == SmsMode::Devices && !full {
                self.quota(user).sent += 1;
            }
            let Some(s) = self.sms.get_mut(&id) else {
                continue;
            };
            s.fetched_at = now;
            s.status = if full {
                SendState::Failed
            } else {
                SendState::Queued
            };
        }
        // Chat pick-up (1 → 2 or 4).
        let due: Vec<u64> = self
            .chats
            .values()
            .filter(|c| {
                !c.deleted
                    && c.status == SendState::Pending
                    && (force || now - c.create_date >= pace.pickup_secs)
            })
            .filter(|c| {
                self.world.wa_accounts.get(&c.wa).is_some_and(|a| {
                    a.status == "connected"
                        && self
                            .world
                            .wa_servers
                            .get(&a.server)
                            .is_some_and(|s| s.reachable)
                })
            })
            .filter(|c| campaign_running_wa(self, c.cid))
            .map(|c| c.id)
            .collect();
        for id in due {
            let Some(user) = self.chats.get(&id).map(|c| c.user) else {
                continue;
            };
            let limit = self.package(user).map(|p| p.wa_send_limit).unwrap_or(0);
            let full = limit_reached(self.quota(user).wa_sent, limit);
            if !full {
                self.quota(user).wa_sent += 1;
            }
            let Some(c) = self.chats.get_mut(&id) else {
                continue;
            };
            c.fetched_at = now;
            c.status = if full {
                SendState::Failed
            } else {
                SendState::Queued
            };
        }
        // USSD pick-up.
        for u in self.ussd.values_mut() {
            if u.status == UssdState::Pending
                && (force || now - u.create_date >= pace.pickup_secs)
                && self.world.devices.get(&u.did).is_some_and(|d| d.online)
            {
                u.status = UssdState::Queued;
                u.fetched_at = now;
            }
        }
        if stage == Stage::Fetch {
            return hooks;
        }
        // SMS reports (2 → 3/4), including gateway callbacks.
        let due: Vec<u64> = self
            .sms
            .values()
            .filter(|s| {
                !s.deleted
                    && s.status == SendState::Queued
                    && (force || now - s.fetched_at >= pace.report_secs)
            })
            .map(|s| s.id)
            .collect();
        for id in due {
            let failed = pace.fail_rate > 0.0 && self.rng.random_bool(pace.fail_rate.min(1.0));
            let code = if self.rng.random_bool(0.5) {
                "SMS_SENT"
            } else {
                "SMS_DELIVERED"
            };
            let Some((user, gateway, did, price, mode)) = self
                .sms
                .get(&id)
                .map(|s| (s.user, s.gateway, s.did, s.price, s.mode))
            else {
                continue;
            };
            if !failed && mode == SmsMode::Credits && price > 0.0 {
                if let Some(a) = self.world.accounts.get_mut(&user) {
                    a.credits -= price;
                }
                if gateway == 0 {
                    let owner = self.world.devices.get(&did).map(|d| d.user);
                    if let Some(a) = owner.and_then(|o| self.world.accounts.get_mut(&o)) {
                        a.earnings += price * 0.9;
                    }
                }
            }
            let Some(s) = self.sms.get_mut(&id) else {
                continue;
            };
            s.status = if failed {
                SendState::Failed
            } else {
                SendState::Sent
            };
            s.status_code = if gateway > 0 {
                String::new()
            } else if failed {
                "DELIVERY_FAILED".into()
            } else {
                code.into()
            };
            s.create_date = now;
        }
        // Chat reports.
        let due: Vec<u64> = self
            .chats
            .values()
            .filter(|c| {
                !c.deleted
                    && c.status == SendState::Queued
                    && (force || now - c.fetched_at >= pace.report_secs)
            })
            .map(|c| c.id)
            .collect();
        for id in due {
            let failed = pace.fail_rate > 0.0 && self.rng.random_bool(pace.fail_rate.min(1.0));
            let Some(c) = self.chats.get_mut(&id) else {
                continue;
            };
            c.status = if failed {
                SendState::Failed
            } else {
                SendState::Sent
            };
            let cid = c.cid;
            if let Some(camp) = self.wa_campaigns.get_mut(&cid) {
                camp.processed += 1;
            }
        }
        // USSD answers.
        let due: Vec<u64> = self
            .ussd
            .values()
            .filter(|u| {
                u.status == UssdState::Queued && (force || now - u.fetched_at >= pace.report_secs)
            })
            .map(|u| u.id)
            .collect();
        for id in due {
            let Some(user) = self.ussd.get(&id).map(|u| u.user) else {
                continue;
            };
            self.quota(user).ussd += 1;
            let Some(u) = self.ussd.get_mut(&id) else {
                continue;
            };
            u.status = UssdState::Completed;
            u.response = format!("Votre solde est de 12 500 GNF. Code {}", u.code);
            u.create_date = now;
            let (sim, did, code, response) = (u.sim, u.did, u.code.clone(), u.response.clone());
            let device = self
                .world
                .devices
                .get(&did)
                .map(|d| d.unique.clone())
                .unwrap_or_default();
            // The platform casts an update result instead of the id: always 1.
            hooks.extend(webhook(
                self,
                "ussd",
                vec![
                    ("id", "1".into()),
                    ("sim", sim.to_string()),
                    ("device", device),
                    ("code", code),
                    ("response", response),
                    ("timestamp", now.to_string()),
                ],
            ));
        }
        hooks
    }

    fn unsubscribe_if_stop(&mut self, user: u64, phone: &str, message: &str) {
        if message
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("stop")
        {
            self.ids.unsubscribed += 1;
            let id = self.ids.unsubscribed;
            let now = self.now();
            self.unsubscribed.insert(
                id,
                Unsubscribed {
                    id,
                    user,
                    phone: phone.into(),
                    create_date: now,
                },
            );
        }
    }

    /// An SMS received by device `did` (quota checked; dropped when full).
    pub fn inject_sms(
        &mut self,
        did: u64,
        from: &str,
        message: &str,
        sim: u8,
    ) -> Result<(u64, Vec<Hook>), SimError> {
        let dev = self
            .world
            .devices
            .get(&did)
            .ok_or(SimError::UnknownDevice)?;
        let (user, unique) = (dev.user, dev.unique.clone());
        let limit = self.package(user).map(|p| p.receive_limit).unwrap_or(0);
        if limit_reached(self.quota(user).received, limit) {
            return Err(SimError::ReceiveQuotaFull);
        }
        self.quota(user).received += 1;
        let message = crate::text::sanitize(message.trim());
        self.ids.received += 1;
        self.ids.rid += 1;
        let (id, rid, now) = (self.ids.received, self.ids.rid, self.now());
        self.received.insert(
            id,
            ReceivedSms {
                id,
                user,
                did,
                rid,
                sim,
                phone: from.into(),
                message: message.clone(),
                receive_date: now,
            },
        );
        self.unsubscribe_if_stop(user, from, &message);
        let hooks = webhook(
            self,
            "sms",
            vec![
                ("id", id.to_string()),
                ("rid", rid.to_string()),
                ("sim", sim.to_string()),
                ("device", unique),
                ("phone", from.into()),
                ("message", message),
                ("timestamp", now.to_string()),
            ],
        );
        Ok((id, hooks.into_iter().collect()))
    }

    /// A chat received on WhatsApp account `wa`.
    pub fn inject_chat(
        &mut self,
        wa: u64,
        from: &str,
        message: &str,
        attachment: Option<String>,
    ) -> Result<(u64, Vec<Hook>), SimError> {
        let acc = self
            .world
            .wa_accounts
            .get(&wa)
            .ok_or(SimError::UnknownWaAccount)?;
        let (user, wid) = (acc.user, acc.phone());
        let limit = self.package(user).map(|p| p.wa_receive_limit).unwrap_or(0);
        if limit_reached(self.quota(user).wa_received, limit) {
            return Err(SimError::WaReceiveQuotaFull);
        }
        self.quota(user).wa_received += 1;
        let message = crate::text::sanitize(message.trim());
        self.ids.wa_received += 1;
        let (id, now) = (self.ids.wa_received, self.now());
        self.wa_received.insert(
            id,
            WaReceived {
                id,
                user,
                wa,
                phone: from.into(),
                message: message.clone(),
                attachment: attachment.clone(),
                receive_date: now,
            },
        );
        self.unsubscribe_if_stop(user, from, &message);
        let hooks = webhook(
            self,
            "whatsapp",
            vec![
                ("id", id.to_string()),
                ("wid", wid),
                ("phone", from.into()),
                ("message", message),
                ("attachment", attachment.unwrap_or_else(|| "0".into())),
                ("timestamp", now.to_string()),
            ],
        );
        Ok((id, hooks.into_iter().collect()))
    }

    /// An Android notification captured on device `did`.
    pub fn inject_notification(
        &mut self,
        did: u64,
        package: &str,
        title: &str,
        text: &str,
    ) -> Result<(u64, Vec<Hook>), SimError> {
        let dev = self
            .world
            .devices
            .get(&did)
            .ok_or(SimError::UnknownDevice)?;
        let (user, unique) = (dev.user, dev.unique.clone());
        let limit = self
            .package(user)
            .map(|p| p.notification_limit)
            .unwrap_or(0);
        if limit_reached(self.quota(user).notifications, limit) {
            return Err(SimError::NotificationQuotaFull);
        }
        self.quota(user).notifications += 1;
        self.ids.notification += 1;
        let (id, now) = (self.ids.notification, self.now());
        self.notifications.insert(
            id,
            Notification {
                id,
                user,
                did,
                package: package.into(),
                title: title.into(),
                text: text.into(),
                create_date: now,
            },
        );
        let hooks = webhook(
            self,
            "notifications",
            vec![
                ("id", id.to_string()),
                ("device", unique),
                ("package", package.into()),
                ("title", title.into()),
                ("content", text.into()),
                ("timestamp", now.to_string()),
            ],
        );
        Ok((id, hooks.into_iter().collect()))
    }

    /// Auto progress only: QR tokens unscanned for 5 s are scanned (new accounts get a
    /// deterministic Guinean number), so a demo's `get/wa.info` polling ends with 200.
    pub fn auto_scan(&mut self) {
        let now = self.now();
        let due: Vec<String> = self
            .tokens
            .iter()
            .filter(|(_, t)| t.linked.is_none() && now - t.created >= 5 && now - t.created <= 600)
            .map(|(k, _)| k.clone())
            .collect();
        for token in due {
            let digits = format!("22462{:07}", 1_000 + self.ids.wa_account);
            let _ = self.scan(&token, &digits);
        }
    }

    /// "Scans" a QR token: links a new account (or reconnects the relinked one).
    pub fn scan(&mut self, token: &str, phone_digits: &str) -> Result<u64, SimError> {
        let t = self
            .tokens
            .get(token)
            .cloned()
            .ok_or(SimError::UnknownToken)?;
        let user = self
            .keys
            .get(&t.secret)
            .map(|k| k.user)
            .ok_or(SimError::TokenKeyGone)?;
        let id = match t.relink {
            Some(id) => {
                if let Some(a) = self.world.wa_accounts.get_mut(&id) {
                    a.status = "connected".into();
                }
                id
            }
            None => {
                self.ids.wa_account += 1;
                let id = self.ids.wa_account;
                let unique = self.hex(48);
                let now = self.now();
                self.world.wa_accounts.insert(
                    id,
                    crate::model::WaAccount {
                        user,
                        server: t.server,
                        wid: format!("{phone_digits}:1@s.whatsapp.net"),
                        unique,
                        status: "connected".into(),
                        created: now,
                    },
                );
                id
            }
        };
        if let Some(t) = self.tokens.get_mut(token) {
            t.linked = Some(id);
        }
        Ok(id)
    }
}
