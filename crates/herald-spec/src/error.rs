//! Errors that point at the text.

use std::fmt;

/// A line and column in a file, both 1-based as editors show them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it starts.
    pub at: Position,
}

/// What is wrong with a trigger file or manifest, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{at}: {message}")]
pub struct SpecError {
    /// The file's name as the user gave it.
    pub file: String,
    /// Where the problem is.
    pub at: Position,
    /// What is wrong, what was expected, and a suggestion where there is one.
    pub message: String,
}

impl SpecError {
    /// An error at `at` in `file`.
    pub fn new(file: &str, at: Position, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            at,
            message: message.into(),
        }
    }
}

/// The closest of `known` to `wanted`, when it is close enough to be a likely typo.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| {
            (
                strsim::jaro_winkler(&wanted.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// "; did you mean `x`?" or nothing.
pub fn suggestion<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}
