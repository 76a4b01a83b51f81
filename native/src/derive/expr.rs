//! ClickHouse's expressions of migration 0001 that the derived columns mirror: the course
//! key's and block id's `extract` regexps (RE2, ASCII `\s`) and
//! `parseDateTime64BestEffortOrZero` for canonical ISO timestamps. Each must give what
//! ClickHouse gives (tests/store/test_derived.py compares both ways in).

/// RE2's `\s` (ASCII only: tab, newline, form feed, carriage return, space; not \v).
#[inline]
fn re2_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// The maximal run from `from` of bytes not in `stop` (nor RE2 spaces): its end.
#[inline]
fn run(bytes: &[u8], from: usize, stop: &[u8]) -> usize {
    let mut at = from;
    while at < bytes.len() && !stop.contains(&bytes[at]) && !re2_space(bytes[at]) {
        at += 1;
    }
    at
}

/// The leftmost match of `(?:course|block)-v1:[^+/\s"]+\+[^+/\s"]+\+[^+/?#@\s"]+` in `id`.
/// Each part stops at its first excluded byte, so at a given start the match is unique.
pub(super) fn course_match(id: &str) -> Option<(usize, usize)> {
    let bytes = id.as_bytes();
    let mut from = 0;
    while let Some(found) = find_from(bytes, from, b"-v1:") {
        let colon_end = found + 4;
        let start = if bytes[..found].ends_with(b"course") {
            Some(found - 6)
        } else if bytes[..found].ends_with(b"block") {
            Some(found - 5)
        } else {
            None
        };
        if let Some(start) = start {
            let one = run(bytes, colon_end, b"+/\"");
            if one > colon_end && bytes.get(one) == Some(&b'+') {
                let two = run(bytes, one + 1, b"+/\"");
                if two > one + 1 && bytes.get(two) == Some(&b'+') {
                    let three = run(bytes, two + 1, b"+/?#@\"");
                    if three > two + 1 {
                        return Some((start, three));
                    }
                }
            }
        }
        from = found + 1;
    }
    None
}

/// `extract(object_id, 'block-v1:[^/?#\s]+')`: the leftmost match, '' when none.
pub(super) fn block_match(id: &str) -> &str {
    let bytes = id.as_bytes();
    let mut from = 0;
    while let Some(start) = find_from(bytes, from, b"block-v1:") {
        let end = run(bytes, start + 9, b"/?#");
        if end > start + 9 {
            return &id[start..end];
        }
        from = start + 1;
    }
    ""
}

/// `parseDateTime64BestEffortOrZero(text, 6, 'UTC')` for canonical ISO texts; None otherwise.
pub(super) fn timestamp_micros(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, count: usize| -> Option<i64> {
        let part = b.get(from..from + count)?;
        let mut value = 0i64;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(d - b'0');
        }
        Some(value)
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if !(1901..=2298).contains(&year) || !(1..=12).contains(&month) {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if day < 1 || day > month_days[(month - 1) as usize] || hour > 23 || minute > 59 || second > 59
    {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        let count = at - start;
        if count == 0 || count > 9 {
            return None;
        }
        for index in 0..6 {
            let digit = if index < count {
                i64::from(b[start + index] - b'0')
            } else {
                0
            };
            micros = micros * 10 + digit;
        }
    }
    let offset = match b.get(at) {
        None => 0,
        Some(b'Z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() && b[at + 3] == b':' => {
            let (hours, minutes) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Some(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The first position at or after `from` where `needle` starts in `hay`.
#[inline]
fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut at = from;
    while at + needle.len() <= hay.len() {
        let offset = hay[at..hay.len() + 1 - needle.len()]
            .iter()
            .position(|&c| c == first)?;
        at += offset;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_and_block() {
        let id = "http://x/block-v1:a+b+c+type@problem+block@1?x";
        let (s, e) = course_match(id).unwrap();
        assert_eq!(&id[s..e], "block-v1:a+b+c");
        assert_eq!(block_match(id), "block-v1:a+b+c+type@problem+block@1");
        assert_eq!(course_match("course-v1:a+b"), None);
        assert_eq!(block_match("block-v1:/x block-v1:z"), "block-v1:z");
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            timestamp_micros("1970-01-02T00:00:00Z"),
            Some(86_400_000_000)
        );
        assert_eq!(
            timestamp_micros("1970-01-02T00:00:00.5+01:00"),
            Some(82_800_500_000)
        );
        assert_eq!(timestamp_micros("2024-02-30T00:00:00Z"), None);
    }
}
