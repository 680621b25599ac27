//! `/admin/...` — users (list, create, change role, disable/enable, reset password), roles
//! (list, create with any permission set) and the audit log. Every change is audited.

use askama::Template;
use axum::extract::{Query, RawForm};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::StatusCode;
use messagepro_store::{AuditEntry, AuditFilter, NewUser, Outcome, Page, Role, StoreError, User};
use secrecy::SecretString;
use serde::Deserialize;

use super::{Access, RouteRule};
use crate::app::AppState;
use crate::error::AppError;
use crate::id::Id;
use crate::login::audit;
use crate::password;
use crate::permissions::Permission;
use crate::ui::{PageCtx, Ui, flash, render};
use crate::username::Username;

const ADMIN: Access = Access::Perm(Permission::AdminUsers);

pub const RULES: &[RouteRule] = &[
    RouteRule::get("/admin", ADMIN),
    RouteRule::get("/admin/users", ADMIN),
    RouteRule::get("/admin/users/new", ADMIN),
    RouteRule::post("/admin/users/new", ADMIN),
    RouteRule::get("/admin/users/{id}", ADMIN),
    RouteRule::post("/admin/users/{id}/role", ADMIN),
    RouteRule::post("/admin/users/{id}/disable", ADMIN),
    RouteRule::post("/admin/users/{id}/enable", ADMIN),
    RouteRule::post("/admin/users/{id}/password", ADMIN),
    RouteRule::post("/admin/users/{id}/unlock", ADMIN),
    RouteRule::get("/admin/roles", ADMIN),
    RouteRule::get("/admin/roles/new", ADMIN),
    RouteRule::post("/admin/roles/new", ADMIN),
    RouteRule::get("/admin/roles/{id}", ADMIN),
    RouteRule::post("/admin/roles/{id}", ADMIN),
    RouteRule::get("/admin/audit", ADMIN),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::to("/admin/users") }))
        .route("/admin/users", get(users))
        .route("/admin/users/new", get(new_user_form).post(create_user))
        .route("/admin/users/{id}", get(user_detail))
        .route("/admin/users/{id}/role", post(set_role))
        .route("/admin/users/{id}/disable", post(disable))
        .route("/admin/users/{id}/enable", post(enable))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/users/{id}/unlock", post(unlock))
        .route("/admin/roles", get(roles))
        .route("/admin/roles/new", get(new_role_form).post(create_role))
        .route("/admin/roles/{id}", get(edit_role_form).post(update_role))
        .route("/admin/audit", get(audit_page))
}

// ----- users ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageCtx,
    rows: Vec<UserRow>,
}

/// A user in the list, with their login lock if one is running.
struct UserRow {
    u: User,
    /// « Verrouillé jusqu'à … » when too many failed logins locked the account.
    lock: Option<String>,
}

/// The lock message of `username`, if a lock of theirs is running.
fn lock_text(
    ui: &Ui,
    locked: &std::collections::BTreeMap<String, i64>,
    username: &str,
) -> Option<String> {
    locked.get(username).map(|until| {
        ui.tf(
            "admin.users.locked",
            &[("until", &crate::ui::format_ms(*until))],
        )
    })
}

#[tracing::instrument(skip_all)]
async fn users(ui: Ui) -> Result<Response, AppError> {
    let users = ui.state.store.list_users().await?;
    let locked = crate::login::locked_users(&ui.state).await?;
    let rows = users
        .into_iter()
        .map(|u| UserRow {
            lock: lock_text(&ui, &locked, &u.username),
            u,
        })
        .collect();
    render(&UsersPage {
        page: ui.page("admin.users.title"),
        rows,
    })
}

/// Lifts the login locks of a user (their username key and all their per-IP keys). Audited.
#[tracing::instrument(skip_all, fields(user_id = id))]
async fn unlock(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let target = load_user(&ui, id).await?;
    let admin = ui.user()?.clone();
    let was_locked = crate::login::unlock(
        &ui.state,
        (admin.id, &admin.username),
        &target.username,
        ui.ip.clone(),
    )
    .await?;
    let (kind, key) = if was_locked {
        ("success", "admin.users.unlocked_done")
    } else {
        ("success", "admin.users.not_locked")
    };
    flash(&ui.session, kind, ui.t(key)).await?;
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewUserPage {
    page: PageCtx,
    roles: Vec<Role>,
    /// The role selected in the form: `lecteur` (least privilege) until the admin picks another.
    selected_role: i64,
    username: String,
    error: Option<String>,
}

/// The id of the least-privileged built-in role, `lecteur` (0 when it was deleted: then no
/// option is preselected and the browser shows the first).
fn default_role(roles: &[Role]) -> i64 {
    roles
        .iter()
        .find(|r| r.name == "lecteur")
        .map_or(0, |r| r.id)
}

#[tracing::instrument(skip_all)]
async fn new_user_form(ui: Ui) -> Result<Response, AppError> {
    let roles = ui.state.store.list_roles().await?;
    render(&NewUserPage {
        page: ui.page("admin.users.new_title"),
        selected_role: default_role(&roles),
        roles,
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct NewUserForm {
    username: String,
    role: i64,
    #[serde(default)]
    password: String,
}

/// Shown once after creating a user or resetting a password.
#[derive(Template)]
#[template(path = "admin/password_shown.html")]
struct PasswordShownPage {
    page: PageCtx,
    username: String,
    password: String,
}

#[tracing::instrument(skip_all)]
async fn create_user(ui: Ui, Form(form): Form<NewUserForm>) -> Result<Response, AppError> {
    let admin = ui.user()?.clone();
    let state = ui.state.clone();
    let fail = |key: &str| {
        let msg = ui.t(key);
        let ui = &ui;
        let username = form.username.chars().take(64).collect::<String>();
        let selected_role = form.role;
        async move {
            let mut r = render(&NewUserPage {
                page: ui.page("admin.users.new_title"),
                roles: ui.state.store.list_roles().await?,
                selected_role,
                username,
                error: Some(msg),
            })?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok::<Response, AppError>(r)
        }
    };
    let Ok(username) = Username::parse(&form.username) else {
        return fail("admin.users.invalid_username").await;
    };
    let Some(role) = state.store.role_by_id(form.role).await? else {
        return fail("admin.users.invalid_role").await;
    };
    let generated = form.password.is_empty();
    if !generated && !password::acceptable(&form.password) {
        return fail("admin.users.password_too_short").await;
    }
    let pw = if generated {
        password::generate_password()
    } else {
        form.password.clone()
    };
    let hash = password::hash_async(SecretString::from(pw.clone())).await?;
    let new = NewUser {
        username: username.to_string(),
        password_hash: hash,
        role_id: role.id,
        language: None,
    };
    match state.store.create_user(&new, state.clock.now_ms()).await {
        Ok(u) => {
            audit(
                &state,
                Some((admin.id, &admin.username)),
                "user.create",
                Some(u.username.clone()),
                ui.ip.clone(),
                Outcome::Success,
                Some(format!("role {}", role.name)),
            )
            .await;
            if generated {
                render(&PasswordShownPage {
                    page: ui.page("admin.users.password_title"),
                    username: u.username,
                    password: pw,
                })
            } else {
                flash(&ui.session, "success", ui.t("admin.users.created")).await?;
                Ok(Redirect::to(&format!("/admin/users/{}", u.id)).into_response())
            }
        }
        Err(StoreError::Conflict(_)) => fail("admin.users.exists").await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/user_detail.html")]
struct UserDetailPage {
    page: PageCtx,
    lock: Option<String>,
    user: User,
    roles: Vec<Role>,
    is_self: bool,
}

async fn load_user(ui: &Ui, id: i64) -> Result<User, AppError> {
    ui.state
        .store
        .user_by_id(id)
        .await?
        .ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all, fields(user_id = id))]
async fn user_detail(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let user = load_user(&ui, id).await?;
    let is_self = ui.user()?.id == user.id;
    let locked = crate::login::locked_users(&ui.state).await?;
    render(&UserDetailPage {
        page: ui.page("admin.users.detail_title"),
        lock: lock_text(&ui, &locked, &user.username),
        roles: ui.state.store.list_roles().await?,
        user,
        is_self,
    })
}

#[derive(Deserialize)]
struct RoleForm {
    role: i64,
}

/// Refuses changes an admin must not make to their own account (locking themselves out).
fn not_self(ui: &Ui, target: &User) -> Result<(), AppError> {
    if ui.user()?.id == target.id {
        Err(AppError::BadRequest)
    } else {
        Ok(())
    }
}

#[tracing::instrument(skip_all, fields(user_id = id))]
async fn set_role(ui: Ui, Id(id): Id, Form(f): Form<RoleForm>) -> Result<Response, AppError> {
    let target = load_user(&ui, id).await?;
    not_self(&ui, &target)?;
    let role = ui
        .state
        .store
        .role_by_id(f.role)
        .await?
        .ok_or(AppError::BadRequest)?;
    ui.state
        .store
        .set_user_role(id, role.id, ui.state.clock.now_ms())
        .await?;
    let admin = ui.user()?;
    audit(
        &ui.state,
        Some((admin.id, &admin.username)),
        "user.set_role",
        Some(target.username.clone()),
        ui.ip.clone(),
        Outcome::Success,
        Some(format!("{} -> {}", target.role_name, role.name)),
    )
    .await;
    flash(&ui.session, "success", ui.t("admin.users.role_changed")).await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

async fn set_disabled(ui: Ui, id: i64, disabled: bool) -> Result<Response, AppError> {
    let target = load_user(&ui, id).await?;
    not_self(&ui, &target)?;
    ui.state
        .store
        .set_user_disabled(id, disabled, ui.state.clock.now_ms())
        .await?;
    let admin = ui.user()?;
    audit(
        &ui.state,
        Some((admin.id, &admin.username)),
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        Some(target.username.clone()),
        ui.ip.clone(),
        Outcome::Success,
        None,
    )
    .await;
    let key = if disabled {
        "admin.users.disabled_done"
    } else {
        "admin.users.enabled_done"
    };
    flash(&ui.session, "success", ui.t(key)).await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[tracing::instrument(skip_all, fields(user_id = id))]
async fn disable(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    set_disabled(ui, id, true).await
}

#[tracing::instrument(skip_all, fields(user_id = id))]
async fn enable(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    set_disabled(ui, id, false).await
}

/// Replaces the password with a generated one, shown once.
#[tracing::instrument(skip_all, fields(user_id = id))]
async fn reset_password(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let target = load_user(&ui, id).await?;
    let pw = password::generate_password();
    let hash = password::hash_async(SecretString::from(pw.clone())).await?;
    ui.state
        .store
        .set_user_password_hash(id, &hash, ui.state.clock.now_ms())
        .await?;
    let admin = ui.user()?;
    audit(
        &ui.state,
        Some((admin.id, &admin.username)),
        "user.reset_password",
        Some(target.username.clone()),
        ui.ip.clone(),
        Outcome::Success,
        None,
    )
    .await;
    render(&PasswordShownPage {
        page: ui.page("admin.users.password_title"),
        username: target.username,
        password: pw,
    })
}

// ----- roles ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    page: PageCtx,
    roles: Vec<Role>,
}

#[tracing::instrument(skip_all)]
async fn roles(ui: Ui) -> Result<Response, AppError> {
    render(&RolesPage {
        page: ui.page("admin.roles.title"),
        roles: ui.state.store.list_roles().await?,
    })
}

#[derive(Template)]
#[template(path = "admin/role_new.html")]
struct NewRolePage {
    page: PageCtx,
    permissions: Vec<(&'static str, String)>,
    error: Option<String>,
}

fn permission_choices(ui: &Ui) -> Vec<(&'static str, String)> {
    Permission::ALL
        .iter()
        .map(|p| (p.as_str(), ui.t(&format!("permission.{}", p.as_str()))))
        .collect()
}

#[tracing::instrument(skip_all)]
async fn new_role_form(ui: Ui) -> Result<Response, AppError> {
    render(&NewRolePage {
        page: ui.page("admin.roles.new_title"),
        permissions: permission_choices(&ui),
        error: None,
    })
}

/// Role names: same rules as usernames.
#[tracing::instrument(skip_all)]
async fn create_role(ui: Ui, RawForm(body): RawForm) -> Result<Response, AppError> {
    // Checkboxes repeat the `permission` field: parse the raw form.
    let mut name = String::new();
    let mut description = String::new();
    let mut perms: Vec<Permission> = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "name" => name = v.into_owned(),
            "description" => description = v.trim().chars().take(200).collect(),
            "permission" => perms.push(v.parse().map_err(|_| AppError::BadRequest)?),
            _ => {}
        }
    }
    let state = ui.state.clone();
    let error = |key: &str| {
        let page = ui.page("admin.roles.new_title");
        let msg = ui.t(key);
        let permissions = permission_choices(&ui);
        async move {
            let mut r = render(&NewRolePage {
                page,
                permissions,
                error: Some(msg),
            })?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok::<Response, AppError>(r)
        }
    };
    let Ok(name) = Username::parse(&name) else {
        return error("admin.roles.invalid_name").await;
    };
    perms.sort();
    perms.dedup();
    let names: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    match state
        .store
        .create_role(name.as_str(), &description, &names, state.clock.now_ms())
        .await
    {
        Ok(role) => {
            let admin = ui.user()?;
            audit(
                &state,
                Some((admin.id, &admin.username)),
                "role.create",
                Some(role.name.clone()),
                ui.ip.clone(),
                Outcome::Success,
                Some(names.join(",")),
            )
            .await;
            flash(&ui.session, "success", ui.t("admin.roles.created")).await?;
            Ok(Redirect::to("/admin/roles").into_response())
        }
        Err(StoreError::Conflict(_)) => error("admin.roles.exists").await,
        Err(e) => Err(e.into()),
    }
}

/// Editing the permissions of a custom role (built-in roles keep their seeded permissions).
#[derive(Template)]
#[template(path = "admin/role_edit.html")]
struct EditRolePage {
    page: PageCtx,
    role: Role,
    /// (code, label, granted)
    permissions: Vec<(&'static str, String, bool)>,
}

async fn custom_role(ui: &Ui, id: i64) -> Result<Role, AppError> {
    let role = ui
        .state
        .store
        .role_by_id(id)
        .await?
        .ok_or(AppError::NotFound)?;
    if role.builtin {
        return Err(AppError::BadRequest);
    }
    Ok(role)
}

#[tracing::instrument(skip_all, fields(role_id = id))]
async fn edit_role_form(ui: Ui, Id(id): Id) -> Result<Response, AppError> {
    let role = custom_role(&ui, id).await?;
    let permissions = permission_choices(&ui)
        .into_iter()
        .map(|(code, label)| (code, label, role.permissions.iter().any(|p| p == code)))
        .collect();
    render(&EditRolePage {
        page: ui.page("admin.roles.edit_title"),
        role,
        permissions,
    })
}

#[tracing::instrument(skip_all, fields(role_id = id))]
async fn update_role(ui: Ui, Id(id): Id, RawForm(body): RawForm) -> Result<Response, AppError> {
    let role = custom_role(&ui, id).await?;
    let mut perms: Vec<Permission> = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        if k == "permission" {
            perms.push(v.parse().map_err(|_| AppError::BadRequest)?);
        }
    }
    perms.sort();
    perms.dedup();
    let names: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    ui.state.store.set_role_permissions(role.id, &names).await?;
    let admin = ui.user()?;
    audit(
        &ui.state,
        Some((admin.id, &admin.username)),
        "role.set_permissions",
        Some(role.name.clone()),
        ui.ip.clone(),
        Outcome::Success,
        Some(format!(
            "{} -> {}",
            role.permissions.join(","),
            names.join(",")
        )),
    )
    .await;
    flash(&ui.session, "success", ui.t("admin.roles.updated")).await?;
    Ok(Redirect::to("/admin/roles").into_response())
}

// ----- audit ------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: i64,
}

const AUDIT_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageCtx,
    entries: Vec<AuditEntry>,
    q: AuditQuery,
    total_text: String,
    prev_link: Option<String>,
    next_link: Option<String>,
}

fn day_ms(s: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[tracing::instrument(skip_all)]
async fn audit_page(ui: Ui, Query(q): Query<AuditQuery>) -> Result<Response, AppError> {
    let filter = AuditFilter {
        username: non_empty(&q.user),
        action: non_empty(&q.action),
        outcome: non_empty(&q.outcome),
        from_ms: day_ms(&q.from),
        to_ms: day_ms(&q.to).map(|t| t + 86_400_000),
    };
    let n = q.page.max(0);
    let entries = ui
        .state
        .store
        .list_audit(&filter, Page::number(n, AUDIT_PAGE))
        .await?;
    let total = ui.state.store.count_audit(&filter).await?;
    let link = |p: i64| {
        let qs = form_urlencoded::Serializer::new(String::new())
            .append_pair("user", &q.user)
            .append_pair("action", &q.action)
            .append_pair("outcome", &q.outcome)
            .append_pair("from", &q.from)
            .append_pair("to", &q.to)
            .append_pair("page", &p.to_string())
            .finish();
        format!("/admin/audit?{qs}")
    };
    let prev_link = (n > 0).then(|| link(n - 1));
    let next_link = ((n + 1) * AUDIT_PAGE < total).then(|| link(n + 1));
    render(&AuditPage {
        page: ui.page("admin.audit.title"),
        entries,
        total_text: ui.tf("admin.audit.total", &[("n", &total.to_string())]),
        prev_link,
        next_link,
        q,
    })
}
