//! The store and its operations.

use std::{fmt, str::FromStr};

use herald_core::{Event, EventId};
use jiff::Timestamp;
use sqlx::{
    AnyPool, Row,
    any::{AnyConnectOptions, AnyPoolOptions},
};

/// The stream of API events other keepers relayed to this one for some of their subscriptions
/// (a keeper's API stream holds only events posted to it).
pub const RELAYED_STREAM: &str = "http/relayed";
/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one Herald can use.
    #[error("database URL {url:?}: {reason}")]
    Url {
        /// The URL, with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database refused an operation.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file was removed or replaced while the store had it open: what the store
    /// writes from now on is lost.
    #[error(
        "the store file {} {what} while it was open: what the keeper records from now on would \
         be lost, so it must stop",
        path.display()
    )]
    Gone {
        /// The file.
        path: std::path::PathBuf,
        /// What happened to it.
        what: String,
    },
    /// A stored value could not be read back (a corrupt or foreign row).
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What could not be read.
        reason: String,
    },
}

/// The key of an execution: one trigger run for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExecutionKey {
    /// The trigger.
    pub trigger_id: u64,
    /// The event.
    pub event_id: EventId,
}

impl fmt::Display for ExecutionKey {
    /// `<trigger>:<event>`: also the `webhook-id` receivers deduplicate on.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.trigger_id, self.event_id)
    }
}

impl FromStr for ExecutionKey {
    type Err = String;

    /// Reads `<trigger>:<event>`, as [`Display`](fmt::Display) writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("{s:?} is not an execution key: expected <trigger id>:<event id>");
        let (trigger, event) = s.split_once(':').ok_or_else(invalid)?;
        Ok(Self {
            trigger_id: trigger.parse().map_err(|_| invalid())?,
            event_id: event.parse().map_err(|_| invalid())?,
        })
    }
}

/// Where an execution stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Recorded; the service has not finished (or the keeper stopped before it did).
    Pending,
    /// The service ran and succeeded.
    Succeeded,
    /// The service ran and failed for good.
    Failed,
    /// Not run, for a recorded reason (e.g. the budget was insufficient).
    Skipped,
    /// Its event was removed by a reorg; it must never be settled.
    Retracted,
    /// Another keeper performs it; this keeper takes it over if it is not settled in time.
    Standby,
}

impl ExecutionStatus {
    /// The stored name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Retracted => "retracted",
            Self::Standby => "standby",
        }
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => Self::Pending,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "retracted" => Self::Retracted,
            "standby" => Self::Standby,
            other => return Err(format!("unknown execution status {other:?}")),
        })
    }
}

/// An execution as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// Its key.
    pub key: ExecutionKey,
    /// Where it stands.
    pub status: ExecutionStatus,
    /// How many times the service was attempted.
    pub attempts: u32,
    /// The last error, the skip reason, or a result summary.
    pub detail: Option<String>,
    /// keccak256 of the result, once finished.
    pub result_hash: Option<String>,
}

/// How far a stream has been durably processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The last processed block.
    pub block: u64,
    /// Its hash, to detect a reorg below the cursor on restart.
    pub block_hash: String,
}

/// The keeper's database.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// The SQLite file opened, to notice it removed or replaced ([`Store::check`]).
    pub(crate) file: Option<crate::health::OpenedFile>,
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file if needed, and
    /// applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let url_error = |reason: String| StoreError::Url {
            url: redact(url),
            reason,
        };
        if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(url_error("expected sqlite://<file> or postgres://…".into()));
        }
        let url = if is_sqlite && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        } else {
            url.to_string()
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| url_error(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if is_sqlite {
                        // WAL lets readers proceed while a writer commits; NORMAL is durable in WAL
                        // mode except for the last transactions before a power loss (not a crash).
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                       PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .execute(conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let migrator = sqlx::migrate!("./migrations");
        if let Err(first) = migrator.run(&pool).await {
            // SQLite migrations take no lock: when two processes open a new file at once (a keeper
            // and `herald api-key create`, say), one loses the race to create the tables. By the
            // time it retries the winner has recorded them, and the retry finds nothing to do.
            if !is_sqlite {
                return Err(first.into());
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            migrator.run(&pool).await?;
        }
        let file = if is_sqlite {
            crate::health::OpenedFile::of(&url)
        } else {
            None
        };
        Ok(Self { pool, file })
    }

    /// Stores an event once; returns whether it was new (a redelivered event returns false). An
    /// event stored before only as relayed by another keeper (stream [`RELAYED_STREAM`], for
    /// some subscriptions) counts as new and becomes `connector`'s: its emitter posting it here
    /// too is not a redelivery, and the relay must not turn that post away.
    pub async fn record_event(&self, connector: &str, event: &Event) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO events (id, connector, position, cloudevent, received_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET connector = excluded.connector, \
             received_at = excluded.received_at WHERE events.connector = $6",
        )
        .bind(hex_id(&event.id))
        .bind(connector)
        .bind(event.id.position() as i64)
        .bind(event.to_cloudevent().to_string())
        .bind(now_ms())
        .bind(RELAYED_STREAM)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// The stored event, if any.
    pub async fn event(&self, id: &EventId) -> Result<Option<(Event, bool)>, StoreError> {
        let row = sqlx::query("SELECT cloudevent, retracted FROM events WHERE id = $1")
            .bind(hex_id(id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let text: String = row.try_get("cloudevent")?;
            let retracted: i64 = row.try_get("retracted")?;
            let corrupt = |reason: String| StoreError::Corrupt {
                table: "events",
                reason,
            };
            let json = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
            let event = Event::from_cloudevent(&json).map_err(|e| corrupt(e.to_string()))?;
            Ok((event, retracted != 0))
        })
        .transpose()
    }

    /// Events of `connector` after `position`, oldest first, at most `limit`: what a restarted
    /// keeper dispatches again past its cursor.
    pub async fn events_after(
        &self,
        connector: &str,
        position: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT cloudevent FROM events WHERE connector = $1 AND position > $2 AND retracted = 0 \
             ORDER BY position LIMIT $3",
        )
        .bind(connector)
        .bind(position as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("cloudevent")?;
                let corrupt = |reason: String| StoreError::Corrupt {
                    table: "events",
                    reason,
                };
                let json = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
                Event::from_cloudevent(&json).map_err(|e| corrupt(e.to_string()))
            })
            .collect()
    }

    /// An execution by key.
    pub async fn execution(&self, key: ExecutionKey) -> Result<Option<Execution>, StoreError> {
        let row = sqlx::query(
            "SELECT status, attempts, detail, result_hash FROM executions WHERE trigger_id = $1 AND event_id = $2",
        )
        .bind(key.trigger_id as i64)
        .bind(hex_id(&key.event_id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| execution_of(&row, key)).transpose()
    }

    /// A stream's cursor.
    pub async fn cursor(&self, stream: &str) -> Result<Option<Cursor>, StoreError> {
        let row = sqlx::query("SELECT block, block_hash FROM cursors WHERE stream = $1")
            .bind(stream)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let block: i64 = row.try_get("block")?;
            Ok(Cursor {
                block: block as u64,
                block_hash: row.try_get("block_hash")?,
            })
        })
        .transpose()
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Ids are stored as 0x hex of all 32 bytes (UUID-made ids included), so they sort and compare
/// the same in every database.
/// An execution from a row with its status, attempts, detail and result hash.
pub(crate) fn execution_of(
    row: &sqlx::any::AnyRow,
    key: ExecutionKey,
) -> Result<Execution, StoreError> {
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Execution {
        key,
        status: status.parse().map_err(|reason| StoreError::Corrupt {
            table: "executions",
            reason,
        })?,
        attempts: attempts as u32,
        detail: row.try_get("detail")?,
        result_hash: row.try_get("result_hash")?,
    })
}

pub(crate) fn hex_id(id: &EventId) -> String {
    id.as_bytes().to_string()
}

pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://herald:s3cret@db:5432/herald"),
            "postgres://herald:***@db:5432/herald"
        );
        assert_eq!(redact("sqlite://keeper.db"), "sqlite://keeper.db");
    }
}
