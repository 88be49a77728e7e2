//! Typed values: literals from trigger files and fields read from event payloads, in one exact form.

use std::cmp::Ordering;

use alloy_primitives::U256;
use jiff::Timestamp;
use serde_json::Value;

/// How a field is read from an event and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Num,
    Address,
    Bytes,
    Str,
    Time,
}

/// An exact integer in sign-magnitude form, so uint256 and int256 values compare in one domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Num {
    negative: bool,
    magnitude: U256,
}

impl Num {
    pub(crate) fn new(negative: bool, magnitude: U256) -> Self {
        // Normalise -0 to 0 so equality and hashing agree.
        Self {
            negative: negative && !magnitude.is_zero(),
            magnitude,
        }
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.negative
    }

    pub(crate) fn magnitude(&self) -> U256 {
        self.magnitude
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, false) => self.magnitude.cmp(&other.magnitude),
            (true, true) => other.magnitude.cmp(&self.magnitude),
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A value of one [`Kind`]. Hashable, so equality predicates can be index keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scalar {
    Bool(bool),
    Num(Num),
    Address([u8; 20]),
    /// Lower-case hex without `0x`, so prefix and suffix work on nibbles.
    Bytes(Box<str>),
    Str(Box<str>),
    /// Nanoseconds since the Unix epoch.
    Time(i128),
}

impl Scalar {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Scalar::Bool(_) => Kind::Bool,
            Scalar::Num(_) => Kind::Num,
            Scalar::Address(_) => Kind::Address,
            Scalar::Bytes(_) => Kind::Bytes,
            Scalar::Str(_) => Kind::Str,
            Scalar::Time(_) => Kind::Time,
        }
    }

    /// Orders two values of the same kind; `None` across kinds or for unordered kinds.
    pub(crate) fn compare(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Num(a), Scalar::Num(b)) => Some(a.cmp(b)),
            (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Reads a JSON value as `kind`, or `None` when it is not one (a missing or mistyped field matches
/// no positive predicate).
pub(crate) fn read(value: &Value, kind: Kind) -> Option<Scalar> {
    match kind {
        Kind::Bool => value.as_bool().map(Scalar::Bool),
        Kind::Num => read_num(value).map(Scalar::Num),
        Kind::Address => value.as_str().and_then(parse_address).map(Scalar::Address),
        Kind::Bytes => value.as_str().and_then(parse_hex).map(Scalar::Bytes),
        Kind::Str => value.as_str().map(|s| Scalar::Str(s.into())),
        Kind::Time => read_time(value).map(Scalar::Time),
    }
}

/// The kind a literal has when the field's type is JSON (decided by the literal, once).
pub(crate) fn dynamic_kind(literal: &Value) -> Option<Kind> {
    match literal {
        Value::Bool(_) => Some(Kind::Bool),
        Value::Number(_) => Some(Kind::Num),
        Value::String(s) if parse_address(s).is_some() => Some(Kind::Address),
        Value::String(s) if parse_decimal(s).is_some() => Some(Kind::Num),
        Value::String(s) if s.parse::<Timestamp>().is_ok() => Some(Kind::Time),
        Value::String(_) => Some(Kind::Str),
        _ => None,
    }
}

fn read_num(value: &Value) -> Option<Num> {
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Some(Num::new(false, U256::from(u)))
            } else if let Some(i) = n.as_i64() {
                Some(Num::new(i < 0, U256::from(i.unsigned_abs())))
            } else {
                // A float is only exact below 2^53, and only an integral one is an integer.
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
                    .then(|| Num::new(f < 0.0, U256::from(f.abs() as u64)))
            }
        }
        Value::String(s) => parse_decimal(s).or_else(|| parse_hex_number(s)),
        _ => None,
    }
}

/// `-?[0-9]+`, exact up to 2^256 - 1 in magnitude.
pub(crate) fn parse_decimal(s: &str) -> Option<Num> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Token amounts almost always fit 128 bits, and that parse is several times faster.
    if digits.len() <= 38 {
        return digits
            .parse::<u128>()
            .ok()
            .map(|m| Num::new(negative, U256::from(m)));
    }
    U256::from_str_radix(digits, 10)
        .ok()
        .map(|m| Num::new(negative, m))
}

fn parse_hex_number(s: &str) -> Option<Num> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    U256::from_str_radix(digits, 16)
        .ok()
        .map(|m| Num::new(false, m))
}

/// `0x` + 40 hex digits, any case.
pub(crate) fn parse_address(s: &str) -> Option<[u8; 20]> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))?
        .as_bytes();
    if digits.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let (hi, lo) = (HEX[usize::from(pair[0])], HEX[usize::from(pair[1])]);
        if (hi | lo) & 0xf0 != 0 {
            return None;
        }
        *byte = (hi << 4) | lo;
    }
    Some(out)
}

/// Hex digit values by byte; 0xff marks a non-digit. Addresses are parsed on every event, so a
/// table beats branching per character.
const HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// `0x`-prefixed hex of any length, normalised to lower case without the prefix.
pub(crate) fn parse_hex(s: &str) -> Option<Box<str>> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| digits.to_ascii_lowercase().into())
}

/// RFC 3339 text, or unix seconds as a number or a decimal string.
pub(crate) fn read_time(value: &Value) -> Option<i128> {
    match value {
        Value::String(s) => match s.parse::<Timestamp>() {
            Ok(t) => Some(t.as_nanosecond()),
            Err(_) => seconds(parse_decimal(s)?),
        },
        Value::Number(_) => seconds(read_num(value)?),
        _ => None,
    }
}

fn seconds(n: Num) -> Option<i128> {
    let magnitude = i128::try_from(u128::try_from(n.magnitude()).ok()?).ok()?;
    let secs = if n.is_negative() {
        -magnitude
    } else {
        magnitude
    };
    secs.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_exact_across_the_uint256_and_int256_range() {
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        let Some(Scalar::Num(big)) = read(&json!(max), Kind::Num) else {
            panic!("uint256 max reads")
        };
        assert_eq!(big.magnitude(), U256::MAX);
        let Some(Scalar::Num(below)) = read(
            &json!(
                "115792089237316195423570985008687907853269984665640564039457584007913129639934"
            ),
            Kind::Num,
        ) else {
            panic!()
        };
        assert!(below < big, "no floating point: max - 1 < max");
        let Some(Scalar::Num(neg)) = read(
            &json!(
                "-57896044618658097711785492504343953926634992332820282019728792003956564819968"
            ),
            Kind::Num,
        ) else {
            panic!("int256 min reads")
        };
        assert!(neg.is_negative() && neg < Num::new(false, U256::ZERO));
        assert_eq!(
            read(&json!(-5), Kind::Num),
            Some(Scalar::Num(Num::new(true, U256::from(5))))
        );
        assert_eq!(
            read(&json!("0x10"), Kind::Num),
            Some(Scalar::Num(Num::new(false, U256::from(16))))
        );
        assert_eq!(
            Num::new(true, U256::ZERO),
            Num::new(false, U256::ZERO),
            "-0 is 0"
        );
        assert_eq!(read(&json!(1.5), Kind::Num), None);
        assert_eq!(read(&json!("1e3"), Kind::Num), None);
        assert_eq!(
            read(&json!("1".repeat(80)), Kind::Num),
            None,
            "beyond 2^256 is not a number"
        );
    }

    #[test]
    fn addresses_ignore_case_and_hex_is_normalised() {
        let lower = read(
            &json!("0xe94327d07fc17907b4db788e5adf2ed424addff6"),
            Kind::Address,
        );
        let mixed = read(
            &json!("0xE94327D07Fc17907b4DB788E5aDf2ed424adDff6"),
            Kind::Address,
        );
        assert!(lower.is_some());
        assert_eq!(lower, mixed);
        assert_eq!(read(&json!("0xe94327"), Kind::Address), None);
        assert_eq!(
            read(&json!("0xABcd"), Kind::Bytes),
            Some(Scalar::Bytes("abcd".into()))
        );
        assert_eq!(read(&json!("abcd"), Kind::Bytes), None);
    }

    #[test]
    fn times_read_rfc3339_and_unix_seconds() {
        let rfc = read_time(&json!("2017-10-12T00:00:00.000Z")).expect("rfc3339");
        assert_eq!(read_time(&json!(1_507_766_400)), Some(rfc));
        assert_eq!(read_time(&json!("1507766400")), Some(rfc));
        assert_eq!(read_time(&json!("12 Oct 2017")), None);
        assert_eq!(read_time(&json!(true)), None);
    }

    #[test]
    fn json_literals_choose_their_kind() {
        assert_eq!(dynamic_kind(&json!(10)), Some(Kind::Num));
        assert_eq!(dynamic_kind(&json!("10")), Some(Kind::Num));
        assert_eq!(
            dynamic_kind(&json!("0xe94327d07fc17907b4db788e5adf2ed424addff6")),
            Some(Kind::Address)
        );
        assert_eq!(
            dynamic_kind(&json!("2017-10-12T00:00:00Z")),
            Some(Kind::Time)
        );
        assert_eq!(dynamic_kind(&json!("hello")), Some(Kind::Str));
        assert_eq!(dynamic_kind(&json!(null)), None);
    }
}
