//! Matching events against triggers.
//!
//! A trigger's [`Filter`](herald_core::Filter) is compiled once, against the connector's declared
//! output type, into typed predicates ([`compile`]): numbers become exact 256-bit values, addresses
//! bytes, times nanoseconds, and a comparison that cannot work (a `gt` on an address, a string where
//! a number belongs, a field the connector does not output) is an error naming the field.
//!
//! [`Matcher`] indexes compiled triggers by connector type, then by the values of their equality
//! predicates (hashed together, one lookup per distinct set of equality paths), then checks the
//! remaining predicates of the few candidates. Readers match against an immutable [`Snapshot`];
//! adds, removals, pauses and resumes publish a new snapshot and never block matching.
//! [`NaiveMatcher`] evaluates every trigger and is the reference the index is tested against.

mod compile;
mod index;
mod naive;
mod value;

pub use compile::{CompileError, CompiledFilter, Site, compile};
pub use index::{Matcher, Snapshot, TriggerId};
pub use naive::NaiveMatcher;
