//! One storage suite, run against every backend: SQLite always (a file in a temp dir), and
//! PostgreSQL when `MESSAGEPRO_TEST_DATABASE_URL` is set — each test in its own schema, so tests
//! run in parallel, dropped at the end. Without the variable the PostgreSQL half says it skipped.

use messagepro_store::*;
use serde_json::json;

/// A migrated store on one backend, cleaned up by [`Harness::finish`].
struct Harness {
    store: Store,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Harness {
    async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/dir/test.db", dir.path().display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        Harness {
            store,
            schema: None,
            _dir: Some(dir),
        }
    }

    async fn postgres() -> Option<Harness> {
        let Ok(url) = std::env::var("MESSAGEPRO_TEST_DATABASE_URL") else {
            eprintln!("skipped: PostgreSQL tests (set MESSAGEPRO_TEST_DATABASE_URL)");
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let store = Store::connect_postgres_schema(&url, &schema).await.unwrap();
        store.migrate().await.unwrap();
        Some(Harness {
            store,
            schema: Some(schema),
            _dir: None,
        })
    }

    async fn finish(self) {
        if let Some(s) = &self.schema {
            self.store.drop_schema(s).await.unwrap();
        }
        self.store.close().await;
    }
}

/// Declares `$name::sqlite` and `$name::postgres` running the same story.
macro_rules! story {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let h = super::Harness::sqlite().await;
                assert_eq!(h.store.backend_name(), "sqlite");
                super::$body(&h.store).await;
                h.finish().await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(h) = super::Harness::postgres().await {
                    assert_eq!(h.store.backend_name(), "postgres");
                    super::$body(&h.store).await;
                    h.finish().await;
                }
            }
        }
    };
}

story!(
    builtin_roles_are_seeded_with_their_permissions,
    builtin_roles
);
async fn builtin_roles(s: &Store) {
    let roles = s.list_roles().await.unwrap();
    let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["admin", "lecteur", "operateur", "superviseur"]);
    let perms = |n: &str| {
        roles
            .iter()
            .find(|r| r.name == n)
            .unwrap()
            .permissions
            .clone()
    };
    assert_eq!(perms("admin").len(), 7);
    assert!(perms("admin").contains(&"admin.users".to_string()));
    assert_eq!(perms("superviseur").len(), 6);
    for r in ["admin", "superviseur"] {
        assert!(perms(r).contains(&"messaging.manage_campaigns".to_string()));
    }
    assert!(!perms("superviseur").contains(&"admin.users".to_string()));
    assert_eq!(
        perms("operateur"),
        [
            "messaging.read",
            "messaging.send_sms",
            "messaging.send_whatsapp"
        ]
    );
    assert_eq!(perms("lecteur"), ["messaging.read"]);
    assert!(roles.iter().all(|r| r.builtin));
}

story!(users_are_created_updated_and_unique, users);
async fn users(s: &Store) {
    let lecteur = s.role_by_name("lecteur").await.unwrap().unwrap();
    let admin = s.role_by_name("admin").await.unwrap().unwrap();
    assert_eq!(s.count_users().await.unwrap(), 0);
    let new = NewUser {
        username: "awa".into(),
        password_hash: "$argon2id$fake".into(),
        role_id: lecteur.id,
        language: None,
    };
    let u = s.create_user(&new, 1_000).await.unwrap();
    assert_eq!(u.username, "awa");
    assert_eq!(u.role_name, "lecteur");
    assert!(!u.disabled);
    assert_eq!(u.created_ms, 1_000);
    assert!(
        !format!("{u:?}").contains("argon2"),
        "Debug must redact the hash"
    );

    let dup = s.create_user(&new, 2_000).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict("username")), "{dup:?}");

    s.set_user_role(u.id, admin.id, 3_000).await.unwrap();
    s.set_user_disabled(u.id, true, 3_000).await.unwrap();
    s.set_user_language(u.id, Some("en"), 3_000).await.unwrap();
    s.set_user_password_hash(u.id, "$argon2id$other", 3_000)
        .await
        .unwrap();
    s.record_login(u.id, 4_000).await.unwrap();
    let u2 = s.user_by_username("awa").await.unwrap().unwrap();
    assert_eq!(u2.role_name, "admin");
    assert!(u2.disabled);
    assert_eq!(u2.language.as_deref(), Some("en"));
    assert_eq!(u2.password_hash, "$argon2id$other");
    assert_eq!(u2.updated_ms, 3_000);
    assert_eq!(u2.last_login_ms, Some(4_000));
    assert!(matches!(
        s.set_user_role(9_999, admin.id, 1).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.list_users().await.unwrap().len(), 1);
    // a user's role must exist (foreign keys are on, on both backends)
    let bad = NewUser {
        username: "x".into(),
        role_id: 9_999,
        ..new
    };
    assert!(s.create_user(&bad, 1).await.is_err());
}

story!(custom_roles_carry_any_permission_set, custom_roles);
async fn custom_roles(s: &Store) {
    let r = s
        .create_role(
            "otp-only",
            "OTP",
            &["messaging.send_otp", "messaging.read"],
            5,
        )
        .await
        .unwrap();
    assert!(!r.builtin);
    assert_eq!(r.permissions, ["messaging.read", "messaging.send_otp"]);
    assert!(matches!(
        s.create_role("otp-only", "", &[], 6).await,
        Err(StoreError::Conflict("role"))
    ));
    s.set_role_permissions(r.id, &["messaging.read"])
        .await
        .unwrap();
    assert_eq!(s.role_permissions(r.id).await.unwrap(), ["messaging.read"]);
}

story!(sessions_expire_and_are_replaced, sessions);
async fn sessions(s: &Store) {
    assert!(s.session_create("abc", "{}", 100).await.unwrap());
    assert!(
        !s.session_create("abc", "{}", 100).await.unwrap(),
        "ids are unique"
    );
    assert_eq!(s.session_load("abc", 50).await.unwrap().unwrap().data, "{}");
    s.session_save("abc", r#"{"a":1}"#, 200).await.unwrap();
    let row = s.session_load("abc", 150).await.unwrap().unwrap();
    assert_eq!((row.data.as_str(), row.expiry_ms), (r#"{"a":1}"#, 200));
    assert!(
        s.session_load("abc", 200).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(s.session_delete_expired(200).await.unwrap(), 1);
    s.session_save("def", "{}", 300).await.unwrap();
    s.session_delete("def").await.unwrap();
    assert!(s.session_load("def", 0).await.unwrap().is_none());
}

story!(audit_log_filters_and_paginates, audit);
async fn audit(s: &Store) {
    for i in 0..25 {
        s.audit(&NewAudit {
            at_ms: 1_000 + i,
            user_id: None,
            username: Some(if i % 2 == 0 { "awa" } else { "ibrahima" }.into()),
            action: if i % 5 == 0 {
                "login.locked"
            } else {
                "login.failed"
            }
            .into(),
            target: None,
            ip: Some("10.0.0.1".into()),
            outcome: if i % 5 == 0 {
                Outcome::Denied
            } else {
                Outcome::Failure
            },
            detail: None,
        })
        .await
        .unwrap();
    }
    let all = AuditFilter::default();
    assert_eq!(s.count_audit(&all).await.unwrap(), 25);
    let p0 = s.list_audit(&all, Page::number(0, 10)).await.unwrap();
    let p2 = s.list_audit(&all, Page::number(2, 10)).await.unwrap();
    assert_eq!((p0.len(), p2.len()), (10, 5));
    assert_eq!(p0[0].at_ms, 1_024, "newest first");
    let next = s
        .list_audit(&all, Page::before(p0[9].id, 10))
        .await
        .unwrap();
    assert_eq!(
        next[0].id,
        p0[9].id - 1,
        "keyset continues where the page ended"
    );
    let f = AuditFilter {
        username: Some("awa".into()),
        action: Some("login.locked".into()),
        ..Default::default()
    };
    let hits = s.list_audit(&f, Page::first(100)).await.unwrap();
    assert_eq!(hits.len(), 3); // i = 0, 10, 20
    assert!(hits.iter().all(|e| e.outcome == "denied"));
    let range = AuditFilter {
        from_ms: Some(1_010),
        to_ms: Some(1_015),
        ..Default::default()
    };
    assert_eq!(s.count_audit(&range).await.unwrap(), 5);
}

story!(
    login_throttle_locks_after_max_failures_and_expires,
    throttle
);
async fn throttle(s: &Store) {
    let (win, max, lock) = (15 * 60_000, 5, 15 * 60_000);
    let mut st = None;
    for i in 0..5 {
        st = Some(
            s.throttle_record_failure("user:awa", 1_000 + i, win, max, lock)
                .await
                .unwrap(),
        );
        if i < 4 {
            assert_eq!(st.as_ref().unwrap().locked_until_ms, None, "failure {i}");
        }
    }
    let st = st.unwrap();
    assert_eq!(st.failures, 5);
    assert_eq!(st.locked_until_ms, Some(1_004 + lock));
    // more failures while locked keep the same deadline
    let again = s
        .throttle_record_failure("user:awa", 2_000, win, max, lock)
        .await
        .unwrap();
    assert_eq!(again.locked_until_ms, Some(1_004 + lock));
    // after the lock, counting starts over
    let after = s
        .throttle_record_failure("user:awa", 1_004 + lock + 1, win, max, lock)
        .await
        .unwrap();
    assert_eq!((after.failures, after.locked_until_ms), (1, None));
    s.throttle_clear("user:awa").await.unwrap();
    assert!(s.throttle_get("user:awa").await.unwrap().is_none());
    // failures spread beyond the window never lock
    for i in 0..10 {
        let st = s
            .throttle_record_failure("ip:1.2.3.4", i * win, win, max, lock)
            .await
            .unwrap();
        assert_eq!(st.locked_until_ms, None);
    }
}

story!(
    messages_are_recorded_updated_and_listed_with_filters,
    messages
);
async fn messages(s: &Store) {
    let camp = s
        .insert_campaign(
            &NewCampaign {
                name: "Promo".into(),
                channel: Channel::Sms,
                status: CampaignStatus::Queued,
                total: 3,
                created_by: None,
                start_ms: None,
                token_id: None,
            },
            10,
        )
        .await
        .unwrap();
    let m = s
        .insert_message(
            &NewMessage {
                channel: Channel::Sms,
                recipient: "+224621234567".into(),
                text: "Bonjour 100% é_".into(),
                route: json!({"mode": "devices", "device": 1}),
                status: MessageStatus::Queued,
                segments: 1,
                created_by: None,
                campaign_id: None,
            },
            100,
        )
        .await
        .unwrap();
    assert_eq!(m.status, MessageStatus::Queued);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&m.route).unwrap()["device"],
        1
    );
    let batch: Vec<NewMessage> = (0..3)
        .map(|i| NewMessage {
            channel: if i == 2 {
                Channel::Whatsapp
            } else {
                Channel::Sms
            },
            recipient: format!("+22462000000{i}"),
            text: format!("campagne {i}"),
            route: json!({}),
            status: MessageStatus::Queued,
            segments: 2,
            created_by: None,
            campaign_id: Some(camp.id),
        })
        .collect();
    let ids = s.insert_messages(&batch, 200).await.unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    s.update_message_status(m.id, MessageStatus::Sent, Some("42"), None, 300)
        .await
        .unwrap();
    s.update_message_status(
        ids[0],
        MessageStatus::Failed,
        None,
        Some("Invalid number"),
        300,
    )
    .await
    .unwrap();
    let m2 = s.message_by_id(m.id).await.unwrap().unwrap();
    assert_eq!(
        (m2.status, m2.platform_id.as_deref(), m2.updated_ms),
        (MessageStatus::Sent, Some("42"), 300)
    );

    let all = MessageFilter::default();
    assert_eq!(s.count_messages(&all).await.unwrap(), 4);
    let of_campaign = MessageFilter {
        campaign_id: Some(camp.id),
        ..Default::default()
    };
    assert_eq!(s.count_messages(&of_campaign).await.unwrap(), 3);
    let wa = MessageFilter {
        channel: Some(Channel::Whatsapp),
        ..Default::default()
    };
    assert_eq!(
        s.list_messages(&wa, Page::first(10)).await.unwrap()[0].id,
        ids[2]
    );
    let failed = MessageFilter {
        status: Some(MessageStatus::Failed),
        ..Default::default()
    };
    let f = s.list_messages(&failed, Page::first(10)).await.unwrap();
    assert_eq!(f[0].platform_message.as_deref(), Some("Invalid number"));
    // LIKE wildcards in the search text are literal
    let pct = MessageFilter {
        text_contains: Some("100%".into()),
        ..Default::default()
    };
    assert_eq!(s.count_messages(&pct).await.unwrap(), 1);
    let underscore = MessageFilter {
        text_contains: Some("_".into()),
        ..Default::default()
    };
    assert_eq!(s.count_messages(&underscore).await.unwrap(), 1);
    let first2 = s.list_messages(&all, Page::first(2)).await.unwrap();
    let rest = s
        .list_messages(&all, Page::before(first2[1].id, 10))
        .await
        .unwrap();
    assert_eq!(first2.len() + rest.len(), 4);
    assert_eq!(first2[0].id, ids[2], "newest first");
    let recent = MessageFilter {
        from_ms: Some(150),
        ..Default::default()
    };
    assert_eq!(s.count_messages(&recent).await.unwrap(), 3);

    s.update_campaign_status(camp.id, CampaignStatus::Done, 400)
        .await
        .unwrap();
    let c = s.list_campaigns(Page::first(10)).await.unwrap();
    assert_eq!((c.len(), c[0].status), (1, CampaignStatus::Done));
}

story!(contacts_and_groups, contacts);
async fn contacts(s: &Store) {
    let a = s
        .insert_contact("Awa Camara", "+224621000001", 1)
        .await
        .unwrap();
    let b = s
        .insert_contact("Ibrahima Diallo", "+224621000002", 2)
        .await
        .unwrap();
    assert!(matches!(
        s.insert_contact("Dup", "+224621000001", 3).await,
        Err(StoreError::Conflict(_))
    ));
    let g = s.insert_group("Clients", 4).await.unwrap();
    assert!(matches!(
        s.insert_group("Clients", 5).await,
        Err(StoreError::Conflict(_))
    ));
    s.add_to_group(a.id, g.id).await.unwrap();
    s.add_to_group(a.id, g.id).await.unwrap();
    let groups = s.list_groups().await.unwrap();
    assert_eq!((groups[0].name.as_str(), groups[0].members), ("Clients", 1));

    let in_group = ContactFilter {
        group_id: Some(g.id),
        ..Default::default()
    };
    assert_eq!(
        s.list_contacts(&in_group, Page::first(10)).await.unwrap()[0].id,
        a.id
    );
    let search = ContactFilter {
        search: Some("diallo".into()),
        ..Default::default()
    };
    let found = s.list_contacts(&search, Page::first(10)).await.unwrap();
    // SQLite LIKE is case-insensitive for ASCII, PostgreSQL's is not: search on what both agree on
    let search_exact = ContactFilter {
        search: Some("Diallo".into()),
        ..Default::default()
    };
    assert_eq!(
        s.list_contacts(&search_exact, Page::first(10))
            .await
            .unwrap()[0]
            .id,
        b.id
    );
    assert!(found.len() <= 1);
    let by_phone = ContactFilter {
        search: Some("000001".into()),
        ..Default::default()
    };
    assert_eq!(s.count_contacts(&by_phone).await.unwrap(), 1);

    s.set_contact_opt_out(b.id, Some(9), 9).await.unwrap();
    assert_eq!(
        s.count_contacts(&ContactFilter::default()).await.unwrap(),
        1
    );
    let with_out = ContactFilter {
        include_opted_out: true,
        ..Default::default()
    };
    assert_eq!(s.count_contacts(&with_out).await.unwrap(), 2);

    s.update_contact(a.id, "Awa C.", "+224621000009", 10)
        .await
        .unwrap();
    assert_eq!(
        s.contact_by_phone("+224621000009")
            .await
            .unwrap()
            .unwrap()
            .name,
        "Awa C."
    );
    s.remove_from_group(a.id, g.id).await.unwrap();
    s.delete_contact(b.id).await.unwrap();
    assert!(s.contact_by_id(b.id).await.unwrap().is_none());
    assert_eq!(s.list_groups().await.unwrap()[0].members, 0);
}

story!(migrations_are_idempotent, migrate_twice);
async fn migrate_twice(s: &Store) {
    s.migrate().await.unwrap();
    assert_eq!(s.list_roles().await.unwrap().len(), 4);
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    assert!(matches!(
        Store::connect("mysql://x").await,
        Err(StoreError::UnsupportedUrl)
    ));
}

story!(
    a_send_is_recorded_with_its_audit_entry_in_one_transaction,
    audited_sends
);
async fn audited_sends(s: &Store) {
    let msg = |campaign_id| NewMessage {
        channel: Channel::Sms,
        recipient: "+224621000001".into(),
        text: "Bonjour".into(),
        route: json!({}),
        status: MessageStatus::Queued,
        segments: 1,
        created_by: None,
        campaign_id,
    };
    let audit = |action: &str| NewAudit {
        at_ms: 7,
        user_id: None,
        username: Some("awa".into()),
        action: action.into(),
        target: Some("+224621000001".into()),
        ip: None,
        outcome: Outcome::Success,
        detail: None,
    };
    let job = NewJob {
        payload: json!({"kind": "sms"}),
        max_attempts: 5,
        run_at_ms: 7,
    };
    let (id, jid) = s
        .enqueue_message(&msg(None), &job, &audit("sms.send"), 7)
        .await
        .unwrap();
    assert_eq!(s.message_by_id(id).await.unwrap().unwrap().created_ms, 7);
    let j = s.job_of_message(id).await.unwrap().unwrap();
    assert_eq!((j.id, j.state.as_str(), j.attempt), (jid, "ready", 0));
    let camp = NewCampaign {
        name: "Promo".into(),
        channel: Channel::Sms,
        status: CampaignStatus::Queued,
        total: 3,
        created_by: None,
        start_ms: None,
        token_id: None,
    };
    let to = |n: &str| NewMessage {
        recipient: n.into(),
        ..msg(None)
    };
    let rows = [
        (to("+224621000002"), Admit::Queue(job.clone())),
        (to("+224621000003"), Admit::Queue(job.clone())),
        (to("+224621000004"), Admit::Skip("skip.opted_out".into())),
    ];
    // recipients are distinct within a campaign
    let twice = [
        (to("+224621000002"), Admit::Queue(job.clone())),
        (to("+224621000002"), Admit::Queue(job.clone())),
    ];
    assert!(matches!(
        s.enqueue_campaign(&camp, &twice, &audit("sms.bulk"), None, 8)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let (c, jobs) = s
        .enqueue_campaign(&camp, &rows, &audit("sms.bulk"), None, 8)
        .await
        .unwrap();
    assert_eq!(jobs, 2, "no job for the skipped recipient");
    let of_campaign = s
        .list_messages(
            &MessageFilter {
                campaign_id: Some(c.id),
                ..Default::default()
            },
            Page::first(10),
        )
        .await
        .unwrap();
    assert_eq!(of_campaign.len(), 3);
    let skipped: Vec<_> = of_campaign
        .iter()
        .filter(|m| m.status == MessageStatus::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].recipient, "+224621000004");
    assert_eq!(
        skipped[0].platform_message.as_deref(),
        Some("skip.opted_out")
    );
    for m in &of_campaign {
        let job = s.job_of_message(m.id).await.unwrap();
        assert_eq!(job.is_some(), m.status == MessageStatus::Queued, "{m:?}");
    }
    assert_eq!(s.outbox_counts().await.unwrap().ready, 3);
    let audited = s
        .list_audit(&AuditFilter::default(), Page::first(10))
        .await
        .unwrap();
    assert_eq!(audited.len(), 2);

    // a failing statement rolls the whole transaction back: no orphan message, no audit line
    let bad = NewMessage {
        created_by: Some(999_999), // foreign key violation
        ..msg(None)
    };
    assert!(
        s.enqueue_message(&bad, &job, &audit("sms.send"), 9)
            .await
            .is_err()
    );
    assert_eq!(s.outbox_counts().await.unwrap().ready, 3, "no orphan job");
    assert_eq!(
        s.count_messages(&MessageFilter::default()).await.unwrap(),
        4,
        "one single send, three campaign rows (one skipped)"
    );
    assert_eq!(s.count_audit(&AuditFilter::default()).await.unwrap(), 2);

    // the cheap probe a drain waits on: active while a job is ready or running, then not
    assert!(s.outbox_active().await.unwrap(), "ready jobs");
    let claimed = s.claim_jobs("w", 10, 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(s.outbox_active().await.unwrap(), "running jobs");
    let done: Vec<_> = claimed
        .iter()
        .map(|j| {
            let f = messagepro_store::Finish::Complete {
                status: MessageStatus::Pending,
                platform_id: None,
                platform_message: None,
            };
            (j.lease(), f)
        })
        .collect();
    assert_eq!(s.finish_jobs(&done, 11).await.unwrap(), vec![true; 3]);
    assert!(!s.outbox_active().await.unwrap(), "every job done");
}

story!(
    concurrent_writers_wait_instead_of_failing,
    concurrent_writes
);
async fn concurrent_writes(s: &Store) {
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let m = NewMessage {
                    channel: Channel::Sms,
                    recipient: format!("+2246210{t}{i:04}"),
                    text: "x".into(),
                    route: json!({}),
                    status: MessageStatus::Queued,
                    segments: 1,
                    created_by: None,
                    campaign_id: None,
                };
                s.insert_messages(&[m.clone(), m], i).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        s.count_messages(&MessageFilter::default()).await.unwrap(),
        400
    );
}

story!(
    parallel_login_reservations_let_exactly_max_through_and_lock_once,
    login_reservations
);
async fn login_reservations(s: &Store) {
    let (win, lock) = (15 * 60_000, 15 * 60_000);
    let keys = vec![
        AttemptKey {
            key: "ip:10.0.0.1".into(),
            max: 100,
        },
        AttemptKey {
            key: "pair:awa|10.0.0.1".into(),
            max: 5,
        },
        AttemptKey {
            key: "user:awa".into(),
            max: 20,
        },
    ];
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let (s, keys) = (s.clone(), keys.clone());
        set.spawn(async move { s.login_reserve(&keys, 1_000, win, lock).await.unwrap() });
    }
    let mut results = Vec::new();
    while let Some(r) = set.join_next().await {
        results.push(r.unwrap());
    }
    let allowed = results.iter().filter(|r| r.allowed).count();
    assert_eq!(allowed, 5, "exactly the pair's budget is let through");
    let locks: Vec<_> = results
        .iter()
        .flat_map(|r| r.newly_locked.clone())
        .collect();
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].key, "pair:awa|10.0.0.1");
    assert_eq!(locks[0].locked_until_ms, Some(1_000 + lock));
    assert!(
        results
            .iter()
            .filter(|r| !r.allowed)
            .all(|r| r.locked_until_ms == Some(1_000 + lock))
    );
    // refused attempts did not count on the keys that did not refuse them
    let user = s.throttle_get("user:awa").await.unwrap().unwrap();
    assert_eq!(user.failures, 5);
    assert_eq!(user.locked_until_ms, None);
    let ip = s.throttle_get("ip:10.0.0.1").await.unwrap().unwrap();
    assert_eq!(ip.failures, 5);

    // another IP, same user: its own pair budget
    let other = vec![
        AttemptKey {
            key: "pair:awa|10.0.0.2".into(),
            max: 5,
        },
        AttemptKey {
            key: "user:awa".into(),
            max: 20,
        },
    ];
    assert!(
        s.login_reserve(&other, 1_001, win, lock)
            .await
            .unwrap()
            .allowed
    );
    // a success there forgets the account's keys and gives the IP's attempt back
    s.login_succeeded(&["pair:awa|10.0.0.2", "user:awa"], &["ip:10.0.0.1"], 1_002)
        .await
        .unwrap();
    assert!(s.throttle_get("user:awa").await.unwrap().is_none());
    assert_eq!(
        s.throttle_get("ip:10.0.0.1")
            .await
            .unwrap()
            .unwrap()
            .failures,
        4
    );
    assert_eq!(
        s.login_locked_until(&keys, 1_003).await.unwrap(),
        Some(1_000 + lock),
        "the first pair is still locked"
    );
    // after the lock, the pair may try again; using the budget up locks it twice as long
    let later = 1_000 + lock + 1;
    for i in 0..5 {
        let r = s.login_reserve(&keys, later + i, win, lock).await.unwrap();
        assert!(r.allowed, "attempt {i} after the lock");
    }
    let locked = s
        .login_lock_exhausted(&keys, later + 5, lock)
        .await
        .unwrap();
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert_eq!(locked[0].locked_until_ms, Some(later + 5 + 2 * lock));
    assert_eq!(locked[0].lockouts, 2);
    assert!(
        s.login_lock_exhausted(&keys, later + 6, lock)
            .await
            .unwrap()
            .is_empty()
    );
    let r = s.login_reserve(&keys, later + 7, win, lock).await.unwrap();
    assert!(!r.allowed && r.newly_locked.is_empty(), "{r:?}");
    // a busy verifier gives an attempt back
    let fresh = vec![AttemptKey {
        key: "user:bob".into(),
        max: 2,
    }];
    for _ in 0..3 {
        assert!(
            s.login_reserve(&fresh, 5_000, win, lock)
                .await
                .unwrap()
                .allowed
        );
        s.login_release(&fresh, 5_000).await.unwrap();
    }
    assert_eq!(
        s.throttle_get("user:bob").await.unwrap().unwrap().failures,
        0
    );
    // the locks list, and an admin unlock by exact key and prefix (no LIKE wildcards: `_`)
    s.login_reserve(
        &[AttemptKey {
            key: "pair:axb|1.1.1.1".into(),
            max: 1,
        }],
        later,
        win,
        lock,
    )
    .await
    .unwrap();
    let locks = s.login_locks(later + 8).await.unwrap();
    assert_eq!(
        locks.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
        ["pair:awa|10.0.0.1"]
    );
    let removed = s.login_unlock("user:a_b", "pair:a_b|").await.unwrap();
    assert!(removed.is_empty(), "{removed:?}");
    let removed = s.login_unlock("user:awa", "pair:awa|").await.unwrap();
    let mut keys: Vec<_> = removed.iter().map(|t| t.key.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["pair:awa|10.0.0.1", "user:awa"],
        "the account's own key and its per-IP keys go"
    );
    assert!(s.login_locks(later + 8).await.unwrap().is_empty());
    assert!(s.throttle_get("pair:axb|1.1.1.1").await.unwrap().is_some());
    assert!(
        s.throttle_get("ip:10.0.0.1").await.unwrap().is_some(),
        "IP keys stay"
    );
}

story!(
    the_suppression_list_and_pacing_slots_hold_across_callers,
    policy_state
);
async fn policy_state(s: &Store) {
    // suppression list: first source kept, listed, searched, removed
    assert!(
        s.suppress("+224621000001", "inbound", Some("STOP"), Some("system"), 5)
            .await
            .unwrap()
    );
    assert!(
        !s.suppress("+224621000001", "local", None, Some("awa"), 6)
            .await
            .unwrap(),
        "already there"
    );
    s.suppress("+33612345678", "platform", None, None, 7)
        .await
        .unwrap();
    let e = s.suppression("+224621000001").await.unwrap().unwrap();
    assert_eq!(
        (e.source.as_str(), e.reason.as_deref()),
        ("inbound", Some("STOP"))
    );
    let among = s
        .suppressed_among(&["+224621000001".into(), "+224621000009".into()])
        .await
        .unwrap();
    assert_eq!(among.into_iter().collect::<Vec<_>>(), ["+224621000001"]);
    assert_eq!(s.count_suppressions(None).await.unwrap(), 2);
    let listed = s.list_suppressions(Some("336"), 10, 0).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].phone, "+33612345678");
    assert_eq!(
        s.suppressions_from("platform").await.unwrap(),
        ["+33612345678"]
    );
    assert!(s.unsuppress("+224621000001").await.unwrap());
    assert!(!s.unsuppress("+224621000001").await.unwrap());

    // sync state
    assert_eq!(s.sync_state("inbound").await.unwrap(), None);
    s.set_sync_state("inbound", "41", 1).await.unwrap();
    s.set_sync_state("inbound", "42", 2).await.unwrap();
    assert_eq!(
        s.sync_state("inbound").await.unwrap().as_deref(),
        Some("42")
    );

    // pacing: one slot per interval, whoever asks; the daily cap
    let k = "sms:dev1:1";
    assert_eq!(
        s.pace_take(k, 1_000, None, 10_000).await.unwrap(),
        PaceDecision::Go
    );
    assert_eq!(
        s.pace_take(k, 1_000, None, 10_500).await.unwrap(),
        PaceDecision::Wait {
            next_ms: 11_000,
            horizon_ms: 0
        }
    );
    assert_eq!(
        s.pace_take(k, 1_000, None, 11_000).await.unwrap(),
        PaceDecision::Go
    );
    s.pace_push_horizon(k, 20_000).await.unwrap();
    s.pace_push_horizon(k, 15_000).await.unwrap();
    assert_eq!(
        s.pace_take(k, 1_000, None, 11_100).await.unwrap(),
        PaceDecision::Wait {
            next_ms: 12_000,
            horizon_ms: 20_000
        },
        "the horizon only moves forward"
    );
    s.pace_reset_horizons().await.unwrap();
    let capped = "sms:dev2:1";
    for t in 0..3 {
        assert_eq!(
            s.pace_take(capped, 1, Some(3), t * 10).await.unwrap(),
            PaceDecision::Go
        );
    }
    assert_eq!(
        s.pace_take(capped, 1, Some(3), 100).await.unwrap(),
        PaceDecision::CapReached { day: 0 }
    );
    assert_eq!(
        s.pace_take(capped, 1, Some(3), 86_400_000).await.unwrap(),
        PaceDecision::Go,
        "a new day"
    );
    // many concurrent takers at one instant: exactly one slot
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.pace_take("wa:acc", 60_000, None, 5_000).await.unwrap()
        }));
    }
    let mut go = 0;
    for t in tasks {
        go += (t.await.unwrap() == PaceDecision::Go) as usize;
    }
    assert_eq!(go, 1);

    // the claim says which claimed jobs go to a suppressed number (one statement per claim)
    let msg = |to: &str| NewMessage {
        channel: Channel::Sms,
        recipient: to.into(),
        text: "x".into(),
        route: json!({}),
        status: MessageStatus::Queued,
        segments: 1,
        created_by: None,
        campaign_id: None,
    };
    let job = NewJob {
        payload: json!({"kind": "sms"}),
        max_attempts: 5,
        run_at_ms: 0,
    };
    let audit = NewAudit {
        at_ms: 1,
        user_id: None,
        username: None,
        action: "sms.send".into(),
        target: None,
        ip: None,
        outcome: Outcome::Success,
        detail: None,
    };
    let (to_out, _) = s
        .enqueue_message(&msg("+33612345678"), &job, &audit, 1)
        .await
        .unwrap();
    let (to_in, _) = s
        .enqueue_message(&msg("+224621000077"), &job, &audit, 1)
        .await
        .unwrap();
    let claimed = s.claim_jobs("w", 10, 60_000, 10).await.unwrap();
    let flag = |id: i64| {
        claimed
            .iter()
            .find(|j| j.message_id == id)
            .unwrap()
            .suppressed
    };
    assert!(flag(to_out), "on the list (from the platform)");
    assert!(!flag(to_in));
}

story!(
    a_campaign_is_paused_resumed_rescheduled_and_cancelled,
    campaign_lifecycle
);
async fn campaign_lifecycle(s: &Store) {
    let msg = |n: u32| NewMessage {
        channel: Channel::Sms,
        recipient: format!("+22462100{n:04}"),
        text: "Promo".into(),
        route: json!({}),
        status: MessageStatus::Queued,
        segments: 1,
        created_by: None,
        campaign_id: None,
    };
    let job = |run_at_ms| NewJob {
        payload: json!({"kind": "sms"}),
        max_attempts: 5,
        run_at_ms,
    };
    let audit = NewAudit {
        at_ms: 1,
        user_id: None,
        username: None,
        action: "sms.campaign".into(),
        target: None,
        ip: None,
        outcome: Outcome::Success,
        detail: None,
    };
    let camp = NewCampaign {
        name: "Soldes".into(),
        channel: Channel::Sms,
        status: CampaignStatus::Queued,
        total: 3,
        created_by: None,
        start_ms: Some(100_000),
        token_id: None,
    };
    let rows: Vec<_> = (0..3)
        .map(|n| (msg(n), Admit::Queue(job(100_000 + n as i64 * 1_000))))
        .collect();
    let (c, _) = s
        .enqueue_campaign(&camp, &rows, &audit, None, 1)
        .await
        .unwrap();
    assert_eq!(c.start_ms, Some(100_000));
    let runs = |s: Store, id: i64| async move {
        let ms = s
            .list_messages(
                &MessageFilter {
                    campaign_id: Some(id),
                    ..Default::default()
                },
                Page::first(10),
            )
            .await
            .unwrap();
        let mut v = Vec::new();
        for m in ms.iter().rev() {
            let j = s.job_of_message(m.id).await.unwrap().unwrap();
            v.push((j.state, j.run_at_ms));
        }
        v
    };
    // nothing is claimed before the start
    assert!(
        s.claim_jobs("w", 10, 1_000, 50_000)
            .await
            .unwrap()
            .is_empty()
    );
    // rescheduled one minute later: every job moves by a minute
    assert!(s.reschedule_campaign(c.id, 160_000, 2).await.unwrap());
    assert_eq!(
        runs(s.clone(), c.id).await,
        [
            ("ready".to_string(), 160_000),
            ("ready".to_string(), 161_000),
            ("ready".to_string(), 162_000)
        ]
    );
    // paused at 150 s for 40 s: resumed jobs keep their spacing, 40 s later
    assert!(s.set_campaign_paused(c.id, true, 150_000).await.unwrap());
    assert!(
        !s.reschedule_campaign(c.id, 170_000, 150_001).await.unwrap(),
        "a paused campaign is not rescheduled"
    );
    assert!(
        s.claim_jobs("w", 10, 1_000, 500_000)
            .await
            .unwrap()
            .is_empty(),
        "held"
    );
    assert!(s.set_campaign_paused(c.id, false, 190_000).await.unwrap());
    assert_eq!(
        runs(s.clone(), c.id)
            .await
            .iter()
            .map(|r| r.1)
            .collect::<Vec<_>>(),
        [200_000, 201_000, 202_000]
    );
    // one job is being sent when the campaign is cancelled: the other two are skipped
    let claimed = s.claim_jobs("w", 1, 60_000, 200_500).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(s.cancel_campaign(c.id, 200_600).await.unwrap(), Some(2));
    assert_eq!(s.cancel_campaign(c.id, 200_700).await.unwrap(), None);
    let c = s.campaign_by_id(c.id).await.unwrap().unwrap();
    assert_eq!(c.status, CampaignStatus::Cancelled);
    let skipped = s
        .count_messages(&MessageFilter {
            campaign_id: Some(c.id),
            status: Some(MessageStatus::Skipped),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(skipped, 2);
    assert!(
        s.claim_jobs("w", 10, 1_000, 900_000)
            .await
            .unwrap()
            .is_empty()
    );
    // the job being sent finishes normally
    let f = Finish::Complete {
        status: MessageStatus::Pending,
        platform_id: None,
        platform_message: None,
    };
    assert_eq!(
        s.finish_jobs(&[(claimed[0].lease(), f)], 200_800)
            .await
            .unwrap(),
        [true]
    );
    // a deferred job: back to ready at its time, the claim not counted
    let (mid, _) = s
        .enqueue_message(&msg(9), &job(0), &audit, 1)
        .await
        .unwrap();
    let j = s.claim_jobs("w", 1, 60_000, 10).await.unwrap().remove(0);
    let d = Finish::Defer {
        run_at_ms: 5_000,
        reason: "quiet hours".into(),
    };
    assert_eq!(s.finish_jobs(&[(j.lease(), d)], 11).await.unwrap(), [true]);
    let j = s.job_of_message(mid).await.unwrap().unwrap();
    assert_eq!(
        (
            j.state.as_str(),
            j.attempt,
            j.run_at_ms,
            j.last_error.as_deref()
        ),
        ("ready", 0, 5_000, Some("quiet hours"))
    );
    assert_eq!(
        s.message_by_id(mid).await.unwrap().unwrap().status,
        MessageStatus::Queued
    );
}

story!(
    idempotency_keys_replay_refuse_lock_and_expire,
    idempotency_keys
);
async fn idempotency_keys(s: &Store) {
    const LOCK: i64 = 60_000;
    const KEEP: i64 = 86_400_000;
    let t0 = 1_000_000;
    assert_eq!(
        s.idem_begin(1, "k", "h1", t0, LOCK, KEEP).await.unwrap(),
        IdemBegin::Proceed
    );
    // while the first runs: in flight; another body: mismatch
    assert_eq!(
        s.idem_begin(1, "k", "h1", t0 + 10, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::InFlight
    );
    assert_eq!(
        s.idem_begin(1, "k", "h2", t0 + 10, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Mismatch
    );
    // another token has its own keys
    assert_eq!(
        s.idem_begin(2, "k", "h2", t0, LOCK, KEEP).await.unwrap(),
        IdemBegin::Proceed
    );
    s.idem_finish(1, "k", 202, "{\"id\":1}").await.unwrap();
    assert_eq!(
        s.idem_begin(1, "k", "h1", t0 + 20, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Replay {
            status: 202,
            body: "{\"id\":1}".into()
        }
    );
    // a request that died in flight: its lock runs out, the same request takes over
    assert_eq!(
        s.idem_begin(1, "dead", "h", t0, LOCK, KEEP).await.unwrap(),
        IdemBegin::Proceed
    );
    assert_eq!(
        s.idem_begin(1, "dead", "h", t0 + LOCK - 1, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::InFlight
    );
    assert_eq!(
        s.idem_begin(1, "dead", "other", t0 + LOCK, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Mismatch
    );
    assert_eq!(
        s.idem_begin(1, "dead", "h", t0 + LOCK, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Proceed
    );
    // a release lets the retry run at once
    s.idem_release(1, "dead").await.unwrap();
    assert_eq!(
        s.idem_begin(1, "dead", "h", t0 + LOCK + 1, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Proceed
    );
    // after the keep period a done key is new again (any body)
    assert_eq!(
        s.idem_begin(1, "k", "h3", t0 + KEEP, LOCK, KEEP)
            .await
            .unwrap(),
        IdemBegin::Proceed
    );
    assert_eq!(
        s.idem_purge(t0 + 1).await.unwrap(),
        1,
        "token 2's key, created at t0"
    );
}

story!(
    a_guarded_enqueue_records_an_event_once_with_its_key,
    guarded_enqueue
);
async fn guarded_enqueue(s: &Store) {
    let item = |to: &str| GuardedMessage {
        message: NewMessage {
            channel: Channel::Sms,
            recipient: to.into(),
            text: "Votre commande #A-12 a été validée !".into(),
            route: json!({"mode": "devices"}),
            status: MessageStatus::Queued,
            segments: 1,
            created_by: None,
            campaign_id: None,
        },
        job: Some(NewJob {
            payload: json!({}),
            max_attempts: 3,
            run_at_ms: 5,
        }),
        skip_reason: None,
        fallback: None,
    };
    let audit = NewAudit {
        at_ms: 5,
        user_id: None,
        username: Some("token:erp".into()),
        action: "event.order.validated".into(),
        target: Some("A-12".into()),
        ip: None,
        outcome: Outcome::Success,
        detail: None,
    };
    assert_eq!(
        s.idem_begin(7, "key", "h", 5, 60_000, 86_400_000)
            .await
            .unwrap(),
        IdemBegin::Proceed
    );
    let respond = |ids: &[i64]| (202u16, format!("{{\"messages\":{ids:?}}}"));
    let guard = Guard {
        idempotency: Some(IdemDone {
            token_id: 7,
            key: "key",
            respond: &respond,
        }),
        event: Some(NewEvent {
            kind: "order.validated",
            event_id: "A-12",
            token_id: Some(7),
            data: "{}",
        }),
    };
    let mut skipped = item("+224655123456");
    skipped.job = None;
    skipped.skip_reason = Some("skip.opted_out");
    let first = s
        .enqueue_guarded(&[item("+224621234567"), skipped], &audit, &guard, 5)
        .await
        .unwrap();
    let Guarded::Recorded { messages, jobs } = first else {
        panic!("{first:?}")
    };
    assert_eq!(messages.len(), 2);
    assert!(jobs[0].is_some() && jobs[1].is_none());
    let m = s.message_by_id(messages[1]).await.unwrap().unwrap();
    assert_eq!(m.status, MessageStatus::Skipped);
    assert_eq!(m.platform_message.as_deref(), Some("skip.opted_out"));
    // the key is done with the answer built from the ids, in the same transaction
    assert_eq!(
        s.idem_begin(7, "key", "h", 6, 60_000, 86_400_000)
            .await
            .unwrap(),
        IdemBegin::Replay {
            status: 202,
            body: format!("{{\"messages\":{messages:?}}}")
        }
    );
    // the same event again: nothing new
    let guard2 = Guard {
        idempotency: None,
        event: guard.event.clone(),
    };
    let again = s
        .enqueue_guarded(&[item("+224621234567")], &audit, &guard2, 7)
        .await
        .unwrap();
    let Guarded::DuplicateEvent(e) = again else {
        panic!("{again:?}")
    };
    assert_eq!(e.messages, serde_json::to_string(&messages).unwrap());
    assert_eq!(
        s.count_messages(&MessageFilter::default()).await.unwrap(),
        2
    );
    assert_eq!(s.outbox_counts().await.unwrap().ready, 1);
}
