//! Timestamps in stored records, as the text chrono writes (`2026-12-06T22:40:25.123Z`), but
//! without `core::fmt`: a record is written at every step, with a timestamp per running frame,
//! and chrono's formatter was a fifth of writing a Map's thousand frames. Reading is chrono's.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 32];
    match write(t, &mut buf) {
        // ASCII digits and separators only.
        Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => t.serialize(s),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    DateTime::<Utc>::deserialize(d)
}

/// Writes the common case (years 0 to 9999, no leap second) into `buf`; None leaves the rest
/// to chrono.
fn write(t: &DateTime<Utc>, buf: &mut [u8; 32]) -> Option<usize> {
    let year = t.year();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut w = Writer { buf, n: 0 };
    w.digits(year as u32, 4);
    w.byte(b'-');
    w.digits(t.month(), 2);
    w.byte(b'-');
    w.digits(t.day(), 2);
    w.byte(b'T');
    w.digits(t.hour(), 2);
    w.byte(b':');
    w.digits(t.minute(), 2);
    w.byte(b':');
    w.digits(t.second(), 2);
    // As chrono: the fraction in the fewest of 3, 6 or 9 digits that hold it, none when zero.
    if nanos != 0 {
        w.byte(b'.');
        if nanos.is_multiple_of(1_000_000) {
            w.digits(nanos / 1_000_000, 3);
        } else if nanos.is_multiple_of(1_000) {
            w.digits(nanos / 1_000, 6);
        } else {
            w.digits(nanos, 9);
        }
    }
    w.byte(b'Z');
    Some(w.n)
}

struct Writer<'a> {
    buf: &'a mut [u8; 32],
    n: usize,
}

impl Writer<'_> {
    fn digits(&mut self, value: u32, width: usize) {
        let mut v = value;
        for i in (0..width).rev() {
            self.buf[self.n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.n += width;
    }

    fn byte(&mut self, b: u8) {
        self.buf[self.n] = b;
        self.n += 1;
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Fast(#[serde(with = "super")] DateTime<Utc>);

    #[test]
    fn writes_what_chrono_writes_and_reads_it_back() {
        let mut cases = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(1_765_061_225, 0).unwrap(),
            Utc.timestamp_opt(1_765_061_225, 123_000_000).unwrap(),
            Utc.timestamp_opt(1_765_061_225, 123_456_000).unwrap(),
            Utc.timestamp_opt(1_765_061_225, 123_456_789).unwrap(),
            Utc.timestamp_opt(1_765_061_225, 1).unwrap(),
            Utc.timestamp_opt(253_402_300_799, 999_999_999).unwrap(), // 9999-12-31T23:59:59
            Utc.timestamp_opt(253_402_300_800, 0).unwrap(),           // year 10000: chrono's
            Utc.timestamp_opt(-62_167_219_200, 0).unwrap(),           // year 0
            Utc.timestamp_opt(-62_167_219_201, 0).unwrap(),           // year -1: chrono's
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // a leap second
        ];
        // A spread of ordinary instants, every fraction width.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 4_000_000_000) as i64;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x % 1000) as u32 * 1_000_000,
                2 => (x % 1_000_000) as u32 * 1_000,
                _ => (x % 1_000_000_000) as u32,
            };
            cases.push(Utc.timestamp_opt(secs, nanos).unwrap());
        }
        for t in cases {
            let ours = serde_json::to_string(&Fast(t)).unwrap();
            assert_eq!(ours, serde_json::to_string(&t).unwrap(), "{t:?}");
            let back: Fast = serde_json::from_str(&ours).unwrap();
            assert_eq!(back.0, t);
        }
    }
}
