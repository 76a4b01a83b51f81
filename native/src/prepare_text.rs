//! The JSON texts of the LRS receive worker's native path (a submodule of prepare.rs): the
//! statement as the LRS stores it before the commit stamps it (`prepare.unstamped_text`) and
//! the canonical bytes its content hash is made of (`prepare.content_hash`: keys sorted at
//! every level, as `orjson.dumps(..., option=OPT_SORT_KEYS)` writes them).

use super::Request;
use crate::json::{Obj, V};
use crate::out::{write_str, write_v};

/// `prepare.STAMP_PLACEHOLDER`, its width, and the JSON around it in `unstamped_text`.
pub(super) const STAMP: &[u8] = b"0000-00-00T00:00:00.000000Z";
pub(super) const STORED_HEAD: &[u8] = b",\"stored\":\"";
pub(super) const TIMESTAMP_HEAD: &[u8] = b"\",\"timestamp\":\"";

/// `unstamped_text` of the stored statement: the members in order (`stored` dropped, the id
/// lower-cased in place or appended, contextActivities values as arrays), then authority, the
/// default version when absent, and the placeholders.
pub(super) fn unstamped(
    out: &mut Vec<u8>,
    obj: &Obj<'_>,
    id: &str,
    given: bool,
    has_timestamp: bool,
    request: &Request<'_>,
) {
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, key: &str| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key);
        out.push(b':');
    };
    for (key, value) in obj.iter() {
        match key {
            "stored" => continue,
            "id" => {
                member(out, key);
                write_str(out, id);
            }
            "context" => {
                member(out, key);
                write_context(out, value, false);
            }
            _ => {
                member(out, key);
                write_v(out, value, false);
            }
        }
    }
    if !given {
        member(out, "id");
        write_str(out, id);
    }
    member(out, "authority");
    out.extend_from_slice(request.authority);
    if !obj.contains("version") {
        member(out, "version");
        write_str(out, request.default_version);
    }
    out.extend_from_slice(STORED_HEAD);
    out.extend_from_slice(STAMP);
    if !has_timestamp {
        out.extend_from_slice(TIMESTAMP_HEAD);
        out.extend_from_slice(STAMP);
    }
    out.extend_from_slice(b"\"}");
}

/// A context object with each contextActivities value an array (`normalize`); `sorted`: keys
/// sorted at every level.
fn write_context(out: &mut Vec<u8>, value: &V<'_>, sorted: bool) {
    let V::Obj(context) = value else {
        write_any(out, value, sorted);
        return;
    };
    let Some(V::Obj(groups)) = context.get("contextActivities") else {
        write_any(out, value, sorted);
        return;
    };
    write_object(out, members(context, sorted), |out, key, item| {
        if key != "contextActivities" {
            write_any(out, item, sorted);
            return;
        }
        write_object(out, members(groups, sorted), |out, _, entry| {
            if matches!(entry, V::Arr(_)) {
                write_any(out, entry, sorted);
            } else {
                out.push(b'[');
                write_any(out, entry, sorted);
                out.push(b']');
            }
        });
    });
}

/// `{"key":value,...}` of `list`'s members in its order, each value written by `value`.
fn write_object<'l, T>(
    out: &mut Vec<u8>,
    list: Vec<(&'l str, T)>,
    mut value: impl FnMut(&mut Vec<u8>, &'l str, T),
) {
    out.push(b'{');
    for (index, (key, item)) in list.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        value(out, key, item);
    }
    out.push(b'}');
}

fn write_any(out: &mut Vec<u8>, value: &V<'_>, sorted: bool) {
    if sorted {
        write_sorted(out, value);
    } else {
        write_v(out, value, false);
    }
}

/// An object's members, in order or sorted by key (orjson's OPT_SORT_KEYS: by code point, which
/// is UTF-8 byte order).
fn members<'o, 'a>(obj: &'o Obj<'a>, sorted: bool) -> Vec<(&'o str, &'o V<'a>)> {
    let mut list: Vec<(&str, &V<'a>)> = obj.iter().collect();
    if sorted {
        list.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    list
}

/// `orjson.dumps(value, option=OPT_SORT_KEYS)`.
pub fn write_sorted(out: &mut Vec<u8>, value: &V<'_>) {
    match value {
        V::Arr(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_sorted(out, item);
            }
            out.push(b']');
        }
        V::Obj(obj) => write_object(out, members(obj, true), |out, _, item| {
            write_sorted(out, item)
        }),
        scalar => write_v(out, scalar, false),
    }
}

/// What `content_hash` hashes: the normalized statement with its id, without `stored` (there
/// is no authority here), keys sorted.
pub(super) fn canonical(out: &mut Vec<u8>, obj: &Obj<'_>, id: &str) {
    let mut list: Vec<(&str, Option<&V<'_>>)> = obj
        .iter()
        .filter(|(key, _)| *key != "stored" && *key != "id")
        .map(|(key, value)| (key, Some(value)))
        .collect();
    list.push(("id", None));
    list.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    write_object(out, list, |out, key, value| match (key, value) {
        (_, None) => write_str(out, id),
        ("context", Some(value)) => write_context(out, value, true),
        (_, Some(value)) => write_sorted(out, value),
    });
}
