//! Text handling shared by the endpoints: the input sanitiser (1.6), the URL/e-mail validators,
//! and the message pipeline pieces of 3.4 — shortener, footer, Lex-style shortcodes and spintax.

use std::sync::LazyLock;

use rand::Rng;
use regex::Regex;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
        .expect("static regex")
});
static URL_WHOLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#][\x21-\x7e]*)?$")
        .expect("static regex")
});
static URL_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"']+"#).expect("static regex"));
static SHORTCODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}").expect("static regex"));
static SPIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{([^{}]*)\}").expect("static regex"));

/// PHP `FILTER_VALIDATE_EMAIL` (close enough for the simulator).
pub fn is_email(s: &str) -> bool {
    s.contains('@') && EMAIL.is_match(s)
}

/// PHP `FILTER_VALIDATE_URL`: scheme and host required, ASCII only.
pub fn is_url(s: &str) -> bool {
    s.contains("://") && URL_WHOLE.is_match(s)
}

/// `htmlspecialchars` with `ENT_QUOTES`.
pub fn escape(s: &str) -> String {
    if !s
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            c => out.push(c),
        }
    }
    out
}

/// The sanitiser of 1.6, applied to an already trimmed value. Valid e-mails and URLs pass
/// unchanged (their sanitising filters only remove characters a valid value cannot contain).
pub fn sanitize(s: &str) -> String {
    if is_email(s) || is_url(s) {
        s.to_string()
    } else {
        escape(s)
    }
}

/// Replaces every URL with the shortener's short link (deterministic per URL).
pub fn shorten(s: &str, shortener: u64) -> String {
    URL_IN_TEXT
        .replace_all(s, |c: &regex::Captures<'_>| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in c[0].bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
            format!("https://sho.rt/{shortener}{:06x}", h & 0xff_ffff)
        })
        .into_owned()
}

/// Replaces known `{{ tag }}`s; unknown tags are left for spintax to eat.
pub fn shortcodes(s: &str, vars: &[(&str, String)]) -> String {
    if !s.contains("{{") {
        return s.to_string();
    }
    SHORTCODE
        .replace_all(s, |c: &regex::Captures<'_>| {
            match vars.iter().find(|(k, _)| *k == &c[1]) {
                Some((_, v)) => v.clone(),
                None => c[0].to_string(),
            }
        })
        .into_owned()
}

/// Spintax: innermost `{a|b}` replaced by a random option until no `{…}` pair remains.
pub fn spintax<R: Rng>(s: &str, rng: &mut R) -> String {
    let mut cur = s.to_string();
    while cur.contains('{') && SPIN.is_match(&cur) {
        cur = SPIN
            .replace_all(&cur, |c: &regex::Captures<'_>| {
                let opts: Vec<&str> = c[1].split('|').collect();
                opts[rng.random_range(0..opts.len())].to_string()
            })
            .into_owned();
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sanitize_escapes_but_keeps_urls_and_emails() {
        assert_eq!(
            sanitize(r#"<b>"A&B'</b>"#),
            "&lt;b&gt;&quot;A&amp;B&#039;&lt;/b&gt;"
        );
        assert_eq!(
            sanitize("https://x.test/a?b=1&c=2"),
            "https://x.test/a?b=1&c=2"
        );
        assert_eq!(sanitize("a.b@example.com"), "a.b@example.com");
        assert_eq!(sanitize("Tom & Jerry"), "Tom &amp; Jerry");
    }

    #[test]
    fn spintax_and_unknown_shortcodes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(spintax("{{foo}} x", &mut rng), "foo x");
        let r = spintax("{Hi|Hello} {a|{b|c}}", &mut rng);
        assert!(["Hi", "Hello"].iter().any(|p| r.starts_with(p)), "{r}");
        assert_eq!(
            shortcodes("code {{ otp }} {{x}}", &[("otp", "123456".into())]),
            "code 123456 {{x}}"
        );
        assert_eq!(spintax("lone { brace", &mut rng), "lone { brace");
    }
}
