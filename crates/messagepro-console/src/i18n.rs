//! Translations: every user-facing string lives in `locales/{fr,en}.toml` (nested tables,
//! flattened to dotted keys), embedded at compile time. French is the default language. A test
//! checks that both files have exactly the same keys; a missing key renders as the key itself
//! (visible in review, never a crash).

use std::collections::HashMap;
use std::sync::Arc;

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// `fr` / `en` (also accepts `fr-FR`, `EN_us`…).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The first supported language of an `Accept-Language` header, by quality.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut langs: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::parse(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        langs.sort_by(|a, b| b.0.total_cmp(&a.0));
        langs.first().map(|(_, l)| *l)
    }
}

/// The translation tables (cheap to clone).
#[derive(Debug, Clone)]
pub struct I18n {
    tables: Arc<HashMap<Lang, HashMap<String, String>>>,
}

const FR: &str = include_str!("../locales/fr.toml");
const EN: &str = include_str!("../locales/en.toml");

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

fn parse(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    // The files are part of the binary and checked by tests: a parse error is a build bug.
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    flatten("", &table, &mut out);
    out
}

impl Default for I18n {
    fn default() -> Self {
        I18n::new()
    }
}

impl I18n {
    pub fn new() -> I18n {
        let mut tables = HashMap::new();
        tables.insert(Lang::Fr, parse(FR));
        tables.insert(Lang::En, parse(EN));
        I18n {
            tables: Arc::new(tables),
        }
    }

    /// The text of `key` in `lang` (the key itself when missing).
    pub fn t<'a>(&'a self, lang: Lang, key: &'a str) -> &'a str {
        self.tables
            .get(&lang)
            .and_then(|t| t.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// [`I18n::t`] with `{name}` placeholders replaced.
    pub fn tf(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(lang, key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// [`I18n::tf`] for a count `n`: the key's plural form — `{key}_one` or `{key}_other` by the
    /// language's rule (French: 0 and 1 are singular; English: only 1) — with `{n}` and `args`
    /// replaced. A key without plural forms is used as it is.
    pub fn tn(&self, lang: Lang, key: &str, n: i64, args: &[(&str, &str)]) -> String {
        let one = match lang {
            Lang::Fr => n == 0 || n == 1,
            Lang::En => n == 1,
        };
        let form = format!("{key}_{}", if one { "one" } else { "other" });
        let has = |k: &str| self.tables.get(&lang).is_some_and(|t| t.contains_key(k));
        let key = if has(&form) { form.as_str() } else { key };
        let count = n.to_string();
        let mut all = vec![("n", count.as_str())];
        all.extend_from_slice(args);
        self.tf(lang, key, &all)
    }

    /// The keys of one language (tests).
    pub fn keys(&self, lang: Lang) -> Vec<&str> {
        let mut k: Vec<&str> = self
            .tables
            .get(&lang)
            .map(|t| t.keys().map(String::as_str).collect())
            .unwrap_or_default();
        k.sort_unstable();
        k
    }
}

/// An amount written as the platform writes it (`"50000"`, `"798.634"`, `-12.5`) in `lang`'s
/// way: digits grouped by three (French: a narrow no-break space and a decimal comma,
/// « 50 000 », « 798,634 »; English: « 50,000 », « 798.634 »). Anything that is not such a
/// number is returned as it is. (Hand-written: the two locales' rules are all we need, where
/// an ICU data crate would weigh megabytes.)
pub fn amount(lang: Lang, text: &str) -> String {
    let t = text.trim();
    let (sign, rest) = t.strip_prefix('-').map_or(("", t), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return text.to_owned();
    }
    let (group, decimal) = match lang {
        Lang::Fr => ('\u{202f}', ','),
        Lang::En => (',', '.'),
    };
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(group);
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(decimal);
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {

    #[test]
    fn counts_take_the_language_plural_form() {
        let i = I18n::new();
        let fr = |n| i.tn(Lang::Fr, "otp.error.cooldown", n, &[]);
        let en = |n| i.tn(Lang::En, "otp.error.cooldown", n, &[]);
        assert!(fr(1).contains("Patientez 1 seconde "), "{}", fr(1));
        assert!(fr(0).contains("0 seconde "));
        assert!(fr(30).contains("Patientez 30 secondes "));
        assert!(en(1).contains("Wait 1 second "), "{}", en(1));
        assert!(en(0).contains("Wait 0 seconds "));
        assert!(en(2).contains("Wait 2 seconds "));
    }

    #[test]
    fn amounts_are_grouped_the_locale_way() {
        assert_eq!(amount(Lang::Fr, "50000"), "50\u{202f}000");
        assert_eq!(amount(Lang::En, "50000"), "50,000");
        assert_eq!(amount(Lang::Fr, "798.634"), "798,634");
        assert_eq!(amount(Lang::En, "1234567.5"), "1,234,567.5");
        assert_eq!(amount(Lang::Fr, "-1000"), "-1\u{202f}000");
        assert_eq!(amount(Lang::Fr, "999"), "999");
        assert_eq!(amount(Lang::En, "n/a"), "n/a");
        assert_eq!(amount(Lang::En, "1.2.3"), "1.2.3");
    }
    use super::*;

    #[test]
    fn both_locale_files_parse_and_have_the_same_keys() {
        assert!(toml::from_str::<toml::Table>(FR).is_ok(), "fr.toml parses");
        assert!(toml::from_str::<toml::Table>(EN).is_ok(), "en.toml parses");
        let i = I18n::new();
        let (fr, en) = (i.keys(Lang::Fr), i.keys(Lang::En));
        assert!(fr.len() > 50, "only {} keys", fr.len());
        let only_fr: Vec<_> = fr.iter().filter(|k| !en.contains(k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !fr.contains(k)).collect();
        assert!(
            only_fr.is_empty() && only_en.is_empty(),
            "fr only: {only_fr:?}, en only: {only_en:?}"
        );
    }

    #[test]
    fn every_send_error_code_of_the_engine_has_a_sentence_in_both_languages() {
        let i = I18n::new();
        for lang in [Lang::Fr, Lang::En] {
            let keys = i.keys(lang);
            for code in messagepro_core::error::KNOWN_CODES
                .iter()
                .chain(&["platform"])
            {
                let key = format!("send.error.{code}");
                assert!(keys.contains(&key.as_str()), "{key} missing in {lang:?}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let i = I18n::new();
        let fr = i.tf(Lang::Fr, "login.locked", &[("minutes", "15")]);
        assert!(
            fr.contains("Trop de tentatives") && fr.contains("15 minutes"),
            "{fr}"
        );
        let en = i.tf(Lang::En, "login.locked", &[("minutes", "15")]);
        assert!(en.contains("Too many") && en.contains("15 minutes"), "{en}");
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Lang::from_accept_language("de-DE,en;q=0.8,fr;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("fr-GN,fr;q=0.9"), Some(Lang::Fr));
        assert_eq!(Lang::from_accept_language("de"), None);
    }
}
