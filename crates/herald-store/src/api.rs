//! What the REST API stores: API keys (hashed) and event types.

use sqlx::Row;

use crate::{Store, StoreError, store::now_ms};

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyScope {
    /// Read anything.
    Read,
    /// Read, and change event types, emit events.
    Write,
}

impl KeyScope {
    /// Its stored name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl std::str::FromStr for KeyScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            other => Err(format!("unknown scope {other:?}: expected read or write")),
        }
    }
}

/// An API key as stored: never the secret, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its public id.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// What it may do.
    pub scope: KeyScope,
    /// Requests allowed per minute.
    pub rate_per_minute: u32,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// An event type: a name and, optionally, the JSON Schema its payloads must satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventType {
    /// Its name (what `POST /v1/events/{name}` takes).
    pub name: String,
    /// For people.
    pub description: Option<String>,
    /// The JSON Schema, as JSON text.
    pub schema: Option<String>,
    /// When it was created, unix milliseconds.
    pub created_ms: i64,
    /// When it last changed, unix milliseconds.
    pub updated_ms: i64,
    /// Who owns it (0x address), if anyone yet: the key that signed its definition.
    pub owner: Option<String>,
    /// The emitter keys its owner named, as a JSON array of 0x addresses.
    pub emitters: Option<String>,
    /// When its owner signed its last change, unix milliseconds.
    pub signed_ms: Option<i64>,
}

/// Who owns an event type and whom it lets emit it, as its owner signed them.
#[derive(Clone, Copy, Debug)]
pub struct Ownership<'a> {
    /// The owner, 0x address.
    pub owner: &'a str,
    /// The emitter keys it named, a JSON array of 0x addresses.
    pub emitters: &'a str,
    /// When the owner signed this change, unix milliseconds.
    pub signed_ms: i64,
}

impl Store {
    /// Stores a key by its hash; returns false if a key with that id or hash exists.
    pub async fn insert_api_key(&self, key: &ApiKey, key_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO api_keys (id, name, key_hash, scope, rate_per_minute, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&key.id)
        .bind(&key.name)
        .bind(key_hash)
        .bind(key.scope.as_str())
        .bind(i64::from(key.rate_per_minute))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The key whose secret hashes to `key_hash`.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scope, rate_per_minute, revoked FROM api_keys WHERE key_hash = $1",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_of).transpose()
    }

    /// Every key, oldest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, scope, rate_per_minute, revoked FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_of).collect()
    }

    /// Revokes a key; returns false if there is no such key.
    pub async fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates or replaces an event type, owned as `ownership` says.
    pub async fn put_event_type(
        &self,
        name: &str,
        description: Option<&str>,
        schema: Option<&str>,
        ownership: Ownership<'_>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO event_types \
             (name, description, schema, created_at, updated_at, owner, emitters, signed_at) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET \
             description = excluded.description, schema = excluded.schema, \
             updated_at = excluded.updated_at, owner = excluded.owner, \
             emitters = excluded.emitters, signed_at = excluded.signed_at",
        )
        .bind(name)
        .bind(description)
        .bind(schema)
        .bind(now)
        .bind(ownership.owner)
        .bind(ownership.emitters)
        .bind(ownership.signed_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An event type by name.
    pub async fn event_type(&self, name: &str) -> Result<Option<EventType>, StoreError> {
        let row = sqlx::query(
            "SELECT name, description, schema, created_at, updated_at, owner, emitters, signed_at \
             FROM event_types WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(event_type_of).transpose()
    }

    /// Every event type, by name.
    pub async fn event_types(&self) -> Result<Vec<EventType>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, description, schema, created_at, updated_at, owner, emitters, signed_at \
             FROM event_types ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_type_of).collect()
    }

    /// Deletes an event type; returns false if there was none.
    pub async fn delete_event_type(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM event_types WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn api_key_of(row: &sqlx::any::AnyRow) -> Result<ApiKey, StoreError> {
    let scope: String = row.try_get("scope")?;
    let rate: i64 = row.try_get("rate_per_minute")?;
    let revoked: i64 = row.try_get("revoked")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scope: scope.parse().map_err(|reason| StoreError::Corrupt {
            table: "api_keys",
            reason,
        })?,
        rate_per_minute: rate.clamp(0, i64::from(u32::MAX)) as u32,
        revoked: revoked != 0,
    })
}

fn event_type_of(row: &sqlx::any::AnyRow) -> Result<EventType, StoreError> {
    Ok(EventType {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        schema: row.try_get("schema")?,
        created_ms: row.try_get("created_at")?,
        updated_ms: row.try_get("updated_at")?,
        owner: row.try_get("owner")?,
        emitters: row.try_get("emitters")?,
        signed_ms: row.try_get("signed_at")?,
    })
}
