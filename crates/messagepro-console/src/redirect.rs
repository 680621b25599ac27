//! Where a redirect may go after login, logout or a language change: [`safe_next`] is the one
//! check every `next` parameter goes through, so an attacker cannot turn the console into an
//! open redirect (`/login?next=//evil.example` sent in a phishing message).
//!
//! Browsers are lenient with `Location`: they strip tabs and newlines, treat `\` as `/`, and
//! read `//host` as another site. So the rule is strict rather than clever: a `next` is kept only
//! when it is a path of this site — one `/` followed by anything but `/` or `\` — made of visible
//! ASCII only (no control character, space or non-ASCII byte, which also keeps the value a valid
//! header: a newline used to answer 500). The same rule is applied to the value percent-decoded
//! once, so `/%2F/evil.example` or `/%09/…` is refused too, whatever a proxy or browser decodes.

/// Longest `next` kept (a longer one is refused, not cut).
const MAX_LEN: usize = 2048;

/// `next` when it is a same-origin relative path, else `None` (callers fall back to `/`).
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?;
    if n.len() > MAX_LEN || !is_local_path(n) {
        return None;
    }
    let decoded: Vec<u8> = percent_decode(n.as_bytes());
    let decoded = String::from_utf8_lossy(&decoded);
    if decoded != n && !is_local_path_decoded(&decoded) {
        return None;
    }
    Some(n.to_owned())
}

/// One `/`, then not `/` nor `\`; only visible ASCII (`!`..=`~`), and no `\` anywhere.
fn is_local_path(n: &str) -> bool {
    let b = n.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && b.iter().all(|c| (b'!'..=b'~').contains(c) && *c != b'\\')
}

/// The decoded form may contain what encoding allowed (spaces, UTF-8), but never a control
/// character, a `\`, or a second leading `/`.
fn is_local_path_decoded(n: &str) -> bool {
    n.starts_with('/')
        && !n[1..].starts_with(['/', '\\'])
        && !n.chars().any(|c| c.is_control() || c == '\\')
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classic open-redirect bypasses (OWASP, PortSwigger), raw and as a form would decode them.
    const BYPASSES: &[&str] = &[
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\/evil.example/",
        "\\\\evil.example",
        "/\t/evil.example/",
        "/%09/evil.example/",
        "/%2F/evil.example/",
        "/%5Cevil.example/",
        "%2F%2Fevil.example",
        "/\r\n/evil.example",
        "/x\r\nSet-Cookie: a=b",
        "/%0d%0aLocation:%20//evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "evil.example",
        "",
        "/é",
        "/\u{7f}/evil.example",
        "/\u{85}/evil.example",
    ];

    #[test]
    fn every_classic_bypass_is_refused() {
        for b in BYPASSES {
            assert_eq!(safe_next(Some(b)), None, "{b:?} must be refused");
        }
    }

    #[test]
    fn local_paths_with_a_query_are_kept() {
        for ok in [
            "/",
            "/messaging/",
            "/messaging/sms/history?before=5&status=sent",
            "/admin/users/3",
            "/messaging/sms/history?q=%C3%A9t%C3%A9",
        ] {
            assert_eq!(safe_next(Some(ok)).as_deref(), Some(ok), "{ok:?}");
        }
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn an_overlong_next_is_refused() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert_eq!(safe_next(Some(&long)), None);
    }
}
