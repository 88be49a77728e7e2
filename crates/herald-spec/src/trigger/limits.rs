//! A trigger's `limits`: fees, time frame, recurrence and chaining.

use jiff::Timestamp;

use crate::{
    error::SpecError,
    manifest::{Fields, text_of},
    yaml::Node,
};

/// How much and how long a trigger may run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// Most one execution may cost, in the settlement token's smallest unit (decimal text, exact).
    pub max_fee_per_execution: Option<String>,
    /// Events before this time do not run the trigger.
    pub active_from: Option<Timestamp>,
    /// Events after this time do not run the trigger.
    pub expires_at: Option<Timestamp>,
    /// How many times it may run; `Some(1)` is a one-shot trigger, `None` recurs without limit.
    pub max_executions: Option<u32>,
    /// The trigger to run after this one (seed 001's linked job).
    pub next_trigger: Option<NextTrigger>,
}

/// A linked trigger: by name in the same file, or by its on-chain id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextTrigger {
    /// Another trigger of this file.
    Name(String),
    /// A trigger already registered.
    Id(u64),
}

const LIMIT_KEYS: &[&str] = &[
    "max-fee-per-execution",
    "active-from",
    "expires-at",
    "max-executions",
    "recurring",
    "next-trigger",
];

pub(super) fn limits(file: &str, node: &Node) -> Result<Limits, SpecError> {
    let fields = Fields::of(file, node, LIMIT_KEYS, "limits section")?;
    let time = |name: &str| -> Result<Option<Timestamp>, SpecError> {
        fields
            .get(name)
            .map(|n| {
                let text = text_of(file, n)?;
                text.parse::<Timestamp>().map_err(|e| {
                    SpecError::new(
                        file,
                        n.at,
                        format!("`{name}` must be an RFC 3339 time like 2027-01-01T00:00:00Z: {e}"),
                    )
                })
            })
            .transpose()
    };
    let max_fee = fields
        .get("max-fee-per-execution")
        .map(|n| {
            let text = text_of(file, n)?;
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SpecError::new(
                    file,
                    n.at,
                    "`max-fee-per-execution` is a whole number of the token's smallest unit, e.g. \"1000000000000000\"",
                ));
            }
            Ok(text)
        })
        .transpose()?;
    let mut max_executions = fields
        .get("max-executions")
        .map(|n| {
            n.as_text()
                .and_then(|t| t.parse::<u32>().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| {
                    SpecError::new(
                        file,
                        n.at,
                        "`max-executions` is a whole number from 1 to 4294967295",
                    )
                })
        })
        .transpose()?;
    if let Some(n) = fields.get("recurring") {
        match n.as_text() {
            Some("true") => {}
            Some("false") => match max_executions {
                None | Some(1) => max_executions = Some(1),
                Some(_) => {
                    return Err(SpecError::new(
                        file,
                        n.at,
                        "`recurring: false` means one execution; drop `max-executions`",
                    ));
                }
            },
            _ => return Err(SpecError::new(file, n.at, "`recurring` is true or false")),
        }
    }
    let next_trigger = fields
        .get("next-trigger")
        .map(|n| {
            let text = text_of(file, n)?;
            Ok::<_, SpecError>(match text.parse::<u64>() {
                Ok(id) => NextTrigger::Id(id),
                Err(_) => NextTrigger::Name(text),
            })
        })
        .transpose()?;
    let limits = Limits {
        max_fee_per_execution: max_fee,
        active_from: time("active-from")?,
        expires_at: time("expires-at")?,
        max_executions,
        next_trigger,
    };
    if let (Some(from), Some(to)) = (limits.active_from, limits.expires_at)
        && from >= to
    {
        return Err(SpecError::new(
            file,
            node.at,
            "`active-from` must be before `expires-at`",
        ));
    }
    Ok(limits)
}
