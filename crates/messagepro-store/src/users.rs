//! Users and roles. Roles are rows with a set of permission names; the built-in ones are seeded
//! by the first migration, others are created from the admin pages.

use crate::error::conflict;
use crate::{BeginWrite, NewUser, Result, Role, RoleRow, Store, StoreError, User, on_pool};

const USER_COLUMNS: &str = "SELECT u.id, u.username, u.password_hash, u.role_id, r.name AS role_name, \
     u.language, u.disabled, u.created_ms, u.updated_ms, u.last_login_ms \
     FROM users u JOIN roles r ON r.id = u.role_id";

impl Store {
    /// Creates a user; [`StoreError::Conflict`] if the username is taken.
    pub async fn create_user(&self, new: &NewUser, now_ms: i64) -> Result<User> {
        let sql = "INSERT INTO users (username, password_hash, role_id, language, disabled, created_ms, updated_ms) \
                   VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING id";
        let id: i64 = on_pool!(self, p => sqlx::query_scalar(sql)
            .bind(&new.username)
            .bind(&new.password_hash)
            .bind(new.role_id)
            .bind(&new.language)
            .bind(now_ms)
            .fetch_one(p)
            .await
            .map_err(conflict("username"))?);
        self.user_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("user"))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let sql = format!("{USER_COLUMNS} WHERE u.id = $1");
        Ok(on_pool!(self, p => sqlx::query_as::<_, User>(&sql).bind(id).fetch_optional(p).await?))
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("{USER_COLUMNS} WHERE u.username = $1");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, User>(&sql).bind(username).fetch_optional(p).await?),
        )
    }

    /// Every user, by username.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("{USER_COLUMNS} ORDER BY u.username");
        Ok(on_pool!(self, p => sqlx::query_as::<_, User>(&sql).fetch_all(p).await?))
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(p).await?),
        )
    }

    async fn update_user(&self, sql: &str, id: i64, now_ms: i64, f: UserUpdate<'_>) -> Result<()> {
        let done = on_pool!(self, p => {
            let q = sqlx::query(sql).bind(id).bind(now_ms);
            let q = match f {
                UserUpdate::I(v) => q.bind(v),
                UserUpdate::S(v) => q.bind(v),
                UserUpdate::B(v) => q.bind(v),
            };
            q.execute(p).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    pub async fn set_user_role(&self, id: i64, role_id: i64, now_ms: i64) -> Result<()> {
        self.update_user(
            "UPDATE users SET role_id = $3, updated_ms = $2 WHERE id = $1",
            id,
            now_ms,
            UserUpdate::I(role_id),
        )
        .await
    }

    pub async fn set_user_password_hash(&self, id: i64, hash: &str, now_ms: i64) -> Result<()> {
        self.update_user(
            "UPDATE users SET password_hash = $3, updated_ms = $2 WHERE id = $1",
            id,
            now_ms,
            UserUpdate::S(Some(hash)),
        )
        .await
    }

    pub async fn set_user_disabled(&self, id: i64, disabled: bool, now_ms: i64) -> Result<()> {
        self.update_user(
            "UPDATE users SET disabled = $3, updated_ms = $2 WHERE id = $1",
            id,
            now_ms,
            UserUpdate::B(disabled),
        )
        .await
    }

    /// Sets (or clears) the user's preferred language.
    pub async fn set_user_language(&self, id: i64, lang: Option<&str>, now_ms: i64) -> Result<()> {
        self.update_user(
            "UPDATE users SET language = $3, updated_ms = $2 WHERE id = $1",
            id,
            now_ms,
            UserUpdate::S(lang),
        )
        .await
    }

    pub async fn record_login(&self, id: i64, now_ms: i64) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE users SET last_login_ms = $2 WHERE id = $1")
            .bind(id).bind(now_ms).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Every role with its permissions, by name.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        let rows: Vec<RoleRow> = on_pool!(self, p => sqlx::query_as::<_, RoleRow>(
            "SELECT id, name, description, builtin, created_ms FROM roles ORDER BY name")
            .fetch_all(p).await?);
        let perms: Vec<(i64, String)> = on_pool!(self, p => sqlx::query_as::<_, (i64, String)>(
            "SELECT role_id, permission FROM role_permissions ORDER BY permission")
            .fetch_all(p).await?);
        Ok(rows
            .into_iter()
            .map(|r| Role {
                permissions: perms
                    .iter()
                    .filter(|(id, _)| *id == r.id)
                    .map(|(_, p)| p.clone())
                    .collect(),
                id: r.id,
                name: r.name,
                description: r.description,
                builtin: r.builtin,
                created_ms: r.created_ms,
            })
            .collect())
    }

    pub async fn role_by_name(&self, name: &str) -> Result<Option<Role>> {
        Ok(self
            .list_roles()
            .await?
            .into_iter()
            .find(|r| r.name == name))
    }

    pub async fn role_by_id(&self, id: i64) -> Result<Option<Role>> {
        Ok(self.list_roles().await?.into_iter().find(|r| r.id == id))
    }

    /// The permission names of a role (what a logged-in user may do).
    pub async fn role_permissions(&self, role_id: i64) -> Result<Vec<String>> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT permission FROM role_permissions WHERE role_id = $1 ORDER BY permission")
            .bind(role_id).fetch_all(p).await?))
    }

    /// Creates a custom role with its permissions, in one transaction.
    pub async fn create_role(
        &self,
        name: &str,
        description: &str,
        permissions: &[&str],
        now_ms: i64,
    ) -> Result<Role> {
        let id: i64 = on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO roles (name, description, builtin, created_ms) VALUES ($1, $2, FALSE, $3) RETURNING id")
                .bind(name).bind(description).bind(now_ms)
                .fetch_one(&mut *tx).await.map_err(conflict("role"))?;
            for perm in permissions {
                sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
                    .bind(id).bind(*perm).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        self.role_by_id(id)
            .await?
            .ok_or(StoreError::NotFound("role"))
    }

    /// Replaces the permissions of a role, in one transaction.
    pub async fn set_role_permissions(&self, role_id: i64, permissions: &[&str]) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
                .bind(role_id).execute(&mut *tx).await?;
            for perm in permissions {
                sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)")
                    .bind(role_id).bind(*perm).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

enum UserUpdate<'a> {
    I(i64),
    S(Option<&'a str>),
    B(bool),
}
