//! Timestamps as ASL accepts them: RFC 3339 with an uppercase `T` between date and time and an
//! uppercase `Z` or a numeric offset, fractions of a second allowed.

use chrono::{DateTime, FixedOffset, Utc};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn parse(s: &str) -> Option<Timestamp> {
        if !shape_ok(s) {
            return None;
        }
        DateTime::<FixedOffset>::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp(t.with_timezone(&Utc)))
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.0
    }

    pub fn from_utc(t: DateTime<Utc>) -> Timestamp {
        Timestamp(t)
    }
}

/// chrono's RFC 3339 parser also takes a lowercase `t`/`z` and a space; AWS does not.
fn shape_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return false;
    }
    if !(digits(11..13) && b[13] == b':' && digits(14..16) && b[16] == b':' && digits(17..19)) {
        return false;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &rest[1 + n..];
    }
    match rest {
        [b'Z'] => true,
        [sign, h1, h2, b':', m1, m2] if (*sign == b'+' || *sign == b'-') => {
            [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// The context object's and history's rendering: milliseconds and `Z`.
pub fn format_millis(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_as_aws_does() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00+01:00",
            "2016-03-14T01:59:00.5-07:30",
        ] {
            assert!(Timestamp::parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_aws_rejects() {
        for bad in [
            "2016-13-05T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "05-12-2016T21:29:29Z",
            "2016-12-05t21:29:29z",
            "2016-12-05T21:29:29.Z",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn compares_instants_across_offsets() {
        let a = Timestamp::parse("2020-01-01T01:00:00+01:00").unwrap();
        let b = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(a, b);
    }
}
