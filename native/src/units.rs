//! ERB's value formats (statement.py's `seconds`, `iso_duration`) and the Python float
//! arithmetic they rest on (`round(x, n)`, float `divmod`), reproduced bit for bit.

use crate::event::py_float;
use crate::json::V;
use crate::{Fallback, Res};

const EXACT: i64 = 1 << 53;

/// Python's `round(x, ndigits)` for a float: correctly rounded to `ndigits` decimals (ties to
/// even on the exact binary value), as CPython does through a decimal string.
pub fn py_round(x: f64, ndigits: usize) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let text = format!("{:.*}", ndigits, x);
    let rounded: f64 = text.parse().unwrap_or(x);
    // CPython keeps the sign of a result rounded to zero (round(-0.0001, 3) == -0.0)
    if rounded == 0.0 {
        return 0.0f64.copysign(x);
    }
    rounded
}

/// Python's `divmod(x, y)` for floats (floatobject.c float_divmod).
pub fn py_divmod(x: f64, y: f64) -> (f64, f64) {
    let mut m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(y);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(x / y)
    };
    (floordiv, m)
}

/// statement.seconds: ERB's seconds format, a float rounded to milliseconds; None for a
/// missing or empty value; Fallback where Python raises (the caller's MalformedEvent).
pub fn seconds(value: Option<&V<'_>>) -> Res<Option<f64>> {
    let value = match value {
        None => return Ok(None),
        Some(v) if v.empty() => return Ok(None),
        Some(v) => v,
    };
    let x = match value {
        V::Int(i) if -EXACT < *i && *i < EXACT => return Ok(Some(*i as f64)),
        V::Int(i) => *i as f64,
        V::UInt(u) => *u as f64,
        V::Float(f) => *f,
        V::Bool(b) => f64::from(u8::from(*b)),
        V::Str(text) => py_float(text)?,
        _ => return Err(Fallback),
    };
    Ok(Some(py_round(x, 3)))
}

/// statement.iso_duration: `PT03M15S`, as ERB's xAPI library writes a duration.
pub fn iso_duration(total: f64) -> Res<String> {
    if !total.is_finite() {
        return Err(Fallback); // int(nan) raises in Python
    }
    let (minutes, secs) = py_divmod(total, 60.0);
    let (hours, minutes) = py_divmod(minutes, 60.0);
    let (days, hours) = py_divmod(hours, 24.0);
    let to_int = |f: f64| -> Res<i64> {
        if f.abs() < 1e15 {
            Ok(f.trunc() as i64)
        } else {
            Err(Fallback)
        }
    };
    let (days_i, hours_i, minutes_i) = (to_int(days)?, to_int(hours)?, to_int(minutes)?);
    let secs = py_round(secs, 6);
    let date = if days_i != 0 {
        format!("{}D", days_i)
    } else {
        String::new()
    };
    let mut time = String::from("T");
    if !date.is_empty() || hours_i != 0 {
        time.push_str(&format!("{:02}H", hours_i));
    }
    if !date.is_empty() || hours_i != 0 || minutes_i != 0 {
        time.push_str(&format!("{:02}M", minutes_i));
    }
    let text = if secs.fract() == 0.0 {
        format!("{:02}", to_int(secs)?)
    } else {
        format!("{:09.6}", secs).trim_end_matches('0').to_owned()
    };
    Ok(format!("P{}{}{}S", date, time, text))
}
