//! Request parameters the way PHP's merged request array sees them (1.2, 1.6): query string
//! first, then an `application/x-www-form-urlencoded` or `multipart/form-data` body overriding
//! it; JSON (or any other) bodies are ignored. Every scalar value is trimmed and sanitised
//! (e-mail / URL left as they are, anything else HTML-escaped). Array-style keys (`numbers[]`)
//! are dropped: the platform mangles them, so a client must never rely on them.

use std::collections::HashMap;

use crate::text;

/// An uploaded file (only its name and size matter to the simulator).
#[derive(Clone, Debug)]
pub struct Upload {
    pub filename: String,
    pub size: usize,
}

/// The merged, sanitised parameters of one request. No `Debug`: it holds the secret.
#[derive(Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    files: HashMap<String, Upload>,
}

impl Params {
    /// Sanitised value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    pub fn file(&self, key: &str) -> Option<&Upload> {
        self.files.get(key)
    }

    /// Inserts a raw value: trimmed and sanitised here.
    pub fn insert(&mut self, key: &str, raw: &str) {
        if key.contains('[') {
            return;
        }
        self.values
            .insert(key.to_string(), text::sanitize(raw.trim()));
    }

    fn merge_urlencoded(&mut self, raw: &[u8]) {
        for (k, v) in form_urlencoded::parse(raw) {
            self.insert(&k, &v);
        }
    }

    /// Builds the parameters from a query string and a body with its content type.
    pub async fn from_parts(
        query: Option<&str>,
        content_type: Option<&str>,
        body: bytes::Bytes,
    ) -> Self {
        let mut p = Params::default();
        if let Some(q) = query {
            p.merge_urlencoded(q.as_bytes());
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("application/x-www-form-urlencoded") {
            p.merge_urlencoded(&body);
        } else if ct.starts_with("multipart/form-data")
            && let Ok(boundary) = multer::parse_boundary(content_type.unwrap_or(""))
        {
            let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
            let mut mp = multer::Multipart::new(stream, boundary);
            while let Ok(Some(field)) = mp.next_field().await {
                let name = field.name().unwrap_or("").to_string();
                let filename = field.file_name().map(str::to_string);
                let Ok(data) = field.bytes().await else { break };
                match filename {
                    Some(f) if !f.is_empty() => {
                        p.files.insert(
                            name,
                            Upload {
                                filename: f,
                                size: data.len(),
                            },
                        );
                    }
                    Some(_) => {}
                    None => p.insert(&name, &String::from_utf8_lossy(&data)),
                }
            }
        }
        p
    }
}

/// PHP's integer filter (1.0 conventions): optional sign, digits, no leading zeros.
pub fn int_rule(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_rule_follows_php() {
        assert_eq!(int_rule("0"), Some(0));
        assert_eq!(int_rule("-3"), Some(-3));
        assert_eq!(int_rule("007"), None);
        assert_eq!(int_rule("1.0"), None);
        assert_eq!(int_rule("abc"), None);
        assert_eq!(int_rule(""), None);
    }
}
