//! Trigger files and manifests, as users write them.
//!
//! - [`yaml`]: YAML read into a tree that keeps every node's line and column and every plain
//!   scalar's raw text (an unquoted `0xe943…` address stays text instead of becoming an integer).
//! - [`manifest`]: connector types (`type`, `propagation`, `private`, `outputs`) and service types
//!   (`title`, `inputs`, `handler`), with typed fields.
//! - [`template`]: `{{ event.path }}` templates in service data, bounded in count and rendered size.
//! - [`trigger`]: trigger files (seed 000's shape), validated against the manifests they use: every
//!   error names the file, line and column, says what was expected and suggests the closest name.

mod data;
pub mod error;
pub mod manifest;
pub mod registry;
pub mod schema;
mod sealed;
pub mod template;
pub mod trigger;
pub mod yaml;

pub use error::{Spanned, SpecError};
pub use manifest::{ConnectorManifest, Propagation, ServiceManifest};
pub use registry::{BUILTIN_MANIFESTS, HTTP_EVENT_CONNECTOR, Manifests};
pub use sealed::{referenced_secrets, with_secrets};
pub use template::{
    MAX_RENDERED_BYTES, MAX_SECRET_NAME, MAX_TEMPLATE_REFS, RenderTooLarge, SecretMissing,
    TemplatePart, is_secret_name, parse_template, references_secret, render_data,
    render_data_within, substitute_secrets,
};
pub use trigger::{
    Limits, MAX_TRIGGER_FILE_BYTES, NextTrigger, Source, SpannedFilter, TriggerSpec, parse_triggers,
};
