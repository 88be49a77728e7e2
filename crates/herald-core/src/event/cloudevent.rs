//! The lossless mapping between an [`Event`] and its CloudEvents 1.0 JSON form.

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Event, Ttl};

impl Event {
    /// The CloudEvents 1.0 JSON form (structured mode).
    pub fn to_cloudevent(&self) -> Value {
        let mut map = Map::new();
        map.insert("specversion".into(), "1.0".into());
        map.insert("id".into(), self.id.to_string().into());
        map.insert("source".into(), self.source.clone().into());
        map.insert("type".into(), self.kind.clone().into());
        if let Some(subject) = &self.subject {
            map.insert("subject".into(), subject.clone().into());
        }
        map.insert("time".into(), self.time.to_string().into());
        if let Some(ct) = &self.content_type {
            map.insert("datacontenttype".into(), ct.clone().into());
        }
        if let Some(schema) = &self.data_schema {
            map.insert("dataschema".into(), schema.clone().into());
        }
        map.insert(EXT_MAX_HOPS.into(), self.ttl.max_hops.into());
        map.insert(EXT_HOPS.into(), self.ttl.hops.into());
        if let Some(expiry) = self.ttl.expires_at {
            map.insert(EXT_EXPIRES.into(), expiry.to_string().into());
        }
        for (name, value) in &self.extensions {
            map.insert(name.clone(), value.clone());
        }
        map.insert("data".into(), self.data.clone());
        Value::Object(map)
    }

    /// Reads a CloudEvents 1.0 JSON event (structured mode), naming the attribute that is wrong.
    pub fn from_cloudevent(value: &Value) -> Result<Self, CloudEventError> {
        let Value::Object(map) = value else {
            return Err(CloudEventError::NotAnObject);
        };
        match map.get("specversion") {
            Some(Value::String(v)) if v == "1.0" => {}
            Some(other) => return Err(CloudEventError::UnsupportedSpecVersion(other.to_string())),
            None => return Err(CloudEventError::Missing("specversion")),
        }
        let string = |name: &'static str| -> Result<Option<String>, CloudEventError> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(CloudEventError::WrongType {
                    attribute: name,
                    expected: "a string",
                }),
            }
        };
        let required = |name: &'static str| string(name)?.ok_or(CloudEventError::Missing(name));
        let timestamp = |name: &'static str, text: String| {
            text.parse::<Timestamp>()
                .map_err(|e| CloudEventError::InvalidTime {
                    attribute: name,
                    reason: e.to_string(),
                })
        };
        let count = |name: &'static str, default: u32| -> Result<u32, CloudEventError> {
            match map.get(name) {
                None => Ok(default),
                Some(v) => v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or(
                    CloudEventError::WrongType {
                        attribute: name,
                        expected: "an integer from 0 to 2^32-1",
                    },
                ),
            }
        };
        if map.contains_key("data_base64") {
            return Err(CloudEventError::BinaryData);
        }

        let id = required("id")?.parse()?;
        let time = match string("time")? {
            Some(text) => timestamp("time", text)?,
            None => return Err(CloudEventError::Missing("time")),
        };
        let ttl = Ttl {
            max_hops: count(EXT_MAX_HOPS, Ttl::default().max_hops)?,
            hops: count(EXT_HOPS, 0)?,
            expires_at: string(EXT_EXPIRES)?
                .map(|t| timestamp(EXT_EXPIRES, t))
                .transpose()?,
        };
        let extensions = map
            .iter()
            .filter(|(name, _)| !KNOWN_ATTRIBUTES.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Ok(Self {
            id,
            kind: required("type")?,
            source: required("source")?,
            subject: string("subject")?,
            time,
            content_type: string("datacontenttype")?,
            data_schema: string("dataschema")?,
            ttl,
            data: map.get("data").cloned().unwrap_or(Value::Null),
            extensions,
        })
    }
}

const EXT_MAX_HOPS: &str = "heraldmaxhops";
const EXT_HOPS: &str = "heraldhops";
const EXT_EXPIRES: &str = "heraldexpires";
const KNOWN_ATTRIBUTES: &[&str] = &[
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    "dataschema",
    "data",
    EXT_MAX_HOPS,
    EXT_HOPS,
    EXT_EXPIRES,
];

/// What is wrong with a CloudEvents document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CloudEventError {
    /// The document is not a JSON object.
    #[error("a CloudEvent must be a JSON object")]
    NotAnObject,
    /// Only CloudEvents 1.0 is understood.
    #[error("specversion {0} is not supported (expected \"1.0\")")]
    UnsupportedSpecVersion(String),
    /// A required attribute is absent.
    #[error("attribute `{0}` is required")]
    Missing(&'static str),
    /// An attribute has the wrong JSON type.
    #[error("attribute `{attribute}` must be {expected}")]
    WrongType {
        /// The attribute's name.
        attribute: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
    /// A time attribute is not RFC 3339.
    #[error("attribute `{attribute}` is not an RFC 3339 time: {reason}")]
    InvalidTime {
        /// The attribute's name.
        attribute: &'static str,
        /// The parser's explanation.
        reason: String,
    },
    /// The id is neither a UUID nor 32 bytes of 0x-prefixed hex.
    #[error("event id {0:?} is neither a UUID nor 0x-prefixed 32-byte hex")]
    InvalidId(String),
    /// Herald events carry JSON data, not `data_base64`.
    #[error("`data_base64` is not supported: Herald events carry JSON `data`")]
    BinaryData,
}
