//! Tolerant decoding helpers for Message Pro JSON.
//!
//! Zender builds differ in small ways (spec Q21/Q22): ints sometimes arrive as strings, booleans
//! as `0`/`1`, `false` stands for "nothing", `notification_packages` may be an object, and text
//! that users typed comes back HTML-escaped (§1.6). Response types use these functions through
//! `#[serde(deserialize_with = …)]` so one odd field never fails a whole list.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn value_to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// An integer sent as a number, a numeric string or a boolean; `null`/`false`/"" → 0.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null | Value::Bool(false) => Ok(0),
        Value::String(s) if s.trim().is_empty() => Ok(0),
        _ => value_to_i64(&v)
            .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {v}"))),
    }
}

/// A non-negative integer (ids, counters) with the same tolerance as [`int`].
pub(crate) fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let i = int(d)?;
    u64::try_from(i)
        .map_err(|_| serde::de::Error::custom(format!("expected a non-negative integer, got {i}")))
}

/// A boolean sent as `true`/`false`, `0`/`1` or `"0"`/`"1"`/`"true"`.
/// An id as a build may write it: a number or a numeric string (anything else: none).
pub(crate) fn id_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.trim(), "1" | "true" | "yes" | "on"),
        _ => false,
    })
}

/// A string that may arrive as a number (decimal amounts, sender ids); kept as its exact text so
/// no float rounding happens. `null`/`false` → "".
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Bool(true) => "1".to_owned(),
        _ => String::new(),
    })
}

/// User text that the platform stored HTML-escaped: decoded back to what the user typed.
pub(crate) fn html<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(unescape(&string(d)?))
}

/// Optional user text: `null`/`false` → `None`, otherwise HTML-unescaped.
pub(crate) fn opt_html<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) => Some(unescape(&s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A URL or `false` (no attachment).
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A list of strings that may arrive as an array, as an object with numeric keys (PHP arrays
/// with holes, spec Q22) or as a single comma-separated string. Empty entries are dropped.
pub(crate) fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    let items: Vec<Value> = match v {
        Value::Array(a) => a,
        Value::Object(o) => {
            let mut entries: Vec<(String, Value)> = o.into_iter().collect();
            entries.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
            entries.into_iter().map(|(_, v)| v).collect()
        }
        Value::String(s) => s.split(',').map(|x| Value::String(x.to_owned())).collect(),
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

/// An object of string values whose values may be numbers (gateway pricing); `false`/`null` → {}.
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Object(o) => o
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

/// Decodes the HTML entities the platform's sanitiser produces (and any other).
pub(crate) fn unescape(s: &str) -> String {
    if s.contains('&') {
        html_escape::decode_html_entities(s).into_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "uint")]
        a: u64,
        #[serde(deserialize_with = "boolean")]
        b: bool,
        #[serde(deserialize_with = "string")]
        c: String,
        #[serde(deserialize_with = "string_list")]
        d: Vec<String>,
        #[serde(deserialize_with = "html")]
        e: String,
    }

    #[test]
    fn odd_shapes_from_other_builds_decode() {
        let t: T = serde_json::from_value(serde_json::json!({
            "a": "42", "b": 1, "c": 798.634, "d": {"1": "com.whatsapp", "0": "com.sms"},
            "e": "Tom &amp; Jerry &lt;3 &#039;ok&#039; &quot;x&quot;"
        }))
        .unwrap();
        assert_eq!(t.a, 42);
        assert!(t.b);
        assert_eq!(t.c, "798.634");
        assert_eq!(t.d, vec!["com.sms", "com.whatsapp"]);
        assert_eq!(t.e, "Tom & Jerry <3 'ok' \"x\"");
    }
}
