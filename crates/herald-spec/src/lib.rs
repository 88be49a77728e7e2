//! Trigger files and manifests, as users write them.
//!
//! - [`yaml`]: YAML read into a tree that keeps every node's line and column and every plain
//!   scalar's raw text (an unquoted `0xe943…` address stays text instead of becoming an integer).
//! - [`manifest`]: connector types (`type`, `propagation`, `private`, `outputs`) and service types
//!   (`title`, `inputs`, `handler`), with typed fields.
//! - [`trigger`]: trigger files (seed 000's shape), validated against the manifests they use: every
//!   error names the file, line and column, says what was expected and suggests the closest name.

pub mod error;
pub mod manifest;
pub mod registry;
pub mod schema;
pub mod trigger;
pub mod yaml;

pub use error::{Spanned, SpecError};
pub use manifest::{ConnectorManifest, Propagation, ServiceManifest};
pub use registry::{HTTP_EVENT_CONNECTOR, Manifests};
pub use trigger::{
    Limits, NextTrigger, Source, SpannedFilter, TemplatePart, TriggerSpec, parse_template,
    parse_triggers, render_data,
};
