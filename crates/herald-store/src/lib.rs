//! Durable keeper state.
//!
//! One [`Store`] over sqlx's `Any` driver: SQLite (a single file in WAL mode, the default, no server
//! needed) or PostgreSQL (`postgres://…`, for operators who run several processes against one
//! database). The same migrations and the same SQL serve both — TEXT and BIGINT columns, `$n`
//! placeholders, `ON CONFLICT` — and the same test suite runs against both.
//!
//! What it guarantees: an event is stored once however often it is delivered; an execution is keyed
//! by (trigger, event) and written before its service runs, so a crash and a restart find it
//! instead of running a paid effect twice; a retracted event's executions are marked retracted
//! unless already settled; a stream's cursor moves in the same transaction as the events and
//! executions it covers, so it never passes an event that is not stored; a keeper records every
//! receipt it signs, keyed by (trigger, event, runner), before signing, so it never signs two
//! different receipts for one execution.

mod api;
mod health;
mod network;
mod pipeline;
mod query;
mod settlement;
mod signed;
mod store;

pub use api::{ApiKey, EventType, KeyScope, Ownership};
pub use network::{Conflict, PeerBatch, PeerReceipt};
pub use pipeline::{Finished, IngestEvent, NewExecution, PendingExecution};
pub use query::{ExecutionFilter, ExecutionPage, ExecutionRecord, PageCursor};
pub use settlement::{Settleable, Settlement};
pub use signed::{AlreadySigned, SignedReceipt};

pub use store::{
    Cursor, Execution, ExecutionKey, ExecutionStatus, RELAYED_STREAM, Store, StoreError,
};
