//! Message templates: parsing the `{{…}}` variables of a campaign text, rendering it per
//! recipient, and the worst-case text spintax can produce (for segment and cost estimates).
//!
//! The platform's single-send endpoint does not replace shortcodes, so a text such as
//! « Bonjour {{contact.name}}, votre commande {{col.reference}} est prête » is rendered here,
//! once per recipient, before it leaves. Spintax (`{a|b|c}`, nested allowed) IS applied by the
//! platform: single braces are copied verbatim by [`Template::render`].
//!
//! Written by hand: the grammar is small, and no template crate keeps unknown single-brace
//! spintax untouched while refusing unknown `{{tags}}`.
//!
//! # Variables
//!
//! Names are case-insensitive; spaces inside the braces are allowed (`{{ Contact.Name }}`).
//!
//! | Tag | Value |
//! |---|---|
//! | `contact.name` | the contact's name (missing when absent or blank) |
//! | `contact.phone`, alias `contact.number` | the E.164 number |
//! | `col.<name>` | the CSV column `<name>` (case-insensitive, trimmed; missing when absent or blank) |
//! | `date.now` | `2 décembre 2026` (French, `1er` on the first) / `December 2, 2026` (English) |
//! | `date.time` | `14:05` (24-hour, both languages) |
//!
//! # Lexing rules (the edge cases)
//!
//! - A run of `k ≥ 2` opening braces: the last two open a tag candidate, the `k − 2` before them
//!   are literal. So `{{{contact.name}}|ami}` renders `{Alice|ami}` — a variable inside spintax.
//! - The candidate's content runs up to the next `{` or `}`:
//!   - closed by `}}` → a tag; an unknown name (including an empty one or one with `|`, such as
//!     `{{a|b}}`) is [`TemplateError::UnknownVariable`]. Braces after the `}}` are literal, so
//!     `{{{contact.name}}}` renders `{Alice}` (which the platform's spintax collapses to `Alice`);
//!   - otherwise, if the content holds a `|`, the braces open nested spintax (`{{Hi|Hello}|Hey}`)
//!     and are copied verbatim;
//!   - otherwise (end of text, a single `}`, or a `{`) → [`TemplateError::Unclosed`] at the byte
//!     offset of the two opening braces.
//! - A lone `}}` is literal text.
//!
//! Values are inserted as they are (column values and names trimmed). The platform's spintax
//! then runs over the whole text, so braces or `|` inside a value would be spun too; run
//! [`spintax_longest`] on the rendered text when estimating.

use chrono::{Datelike, NaiveDateTime, Timelike};

/// A parsed message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A known variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Name,
    Phone,
    /// The column name, trimmed and lower-cased.
    Column(String),
    DateNow,
    DateTime,
    /// A path in a business event's data (`order.reference`), as written (JSON keys are
    /// case-sensitive). Only in templates parsed with [`Template::parse_event`].
    Data(String),
}

impl Var {
    fn canonical(&self) -> String {
        match self {
            Var::Name => "contact.name".to_owned(),
            Var::Phone => "contact.phone".to_owned(),
            Var::Column(name) => format!("col.{name}"),
            Var::DateNow => "date.now".to_owned(),
            Var::DateTime => "date.time".to_owned(),
            Var::Data(path) => path.clone(),
        }
    }

    /// The variable a tag's content names (`inner` already trimmed); `data`: unknown dotted
    /// names are paths in an event's data.
    fn from_tag(inner: &str, data: bool) -> Option<Var> {
        if inner.contains('|') {
            return None;
        }
        if let Some(v) = Var::from_known(inner) {
            return Some(v);
        }
        let is_path = !inner.is_empty()
            && inner.split('.').all(|seg| {
                !seg.is_empty()
                    && seg
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            });
        (data && is_path).then(|| Var::Data(inner.to_owned()))
    }

    fn from_known(inner: &str) -> Option<Var> {
        let lower = inner.to_lowercase();
        match lower.as_str() {
            "contact.name" => Some(Var::Name),
            "contact.phone" | "contact.number" => Some(Var::Phone),
            "date.now" => Some(Var::DateNow),
            "date.time" => Some(Var::DateTime),
            _ => {
                let column = lower.strip_prefix("col.")?.trim();
                (!column.is_empty()).then(|| Var::Column(column.to_owned()))
            }
        }
    }
}

/// Why a template cannot be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{tag}}` this module does not know (the tag's content, trimmed, as written).
    #[error("unknown variable {{{{{0}}}}}")]
    UnknownVariable(String),
    /// A `{{` that is never closed by `}}`; `at` is its byte offset in the source.
    #[error("unclosed {{{{ at byte {at}")]
    Unclosed { at: usize },
    /// At render time: the recipient has no value for a variable (canonical name).
    #[error("no value for {{{{{variable}}}}} for this recipient")]
    Missing { variable: String },
}

impl TemplateError {
    /// A stable machine code the console translates.
    pub fn code(&self) -> &'static str {
        match self {
            TemplateError::UnknownVariable(_) => "template.unknown_variable",
            TemplateError::Unclosed { .. } => "template.unclosed",
            TemplateError::Missing { .. } => "template.missing_variable",
        }
    }
}

/// The language of `date.now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// What one recipient's message is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// E.164.
    pub phone: &'a str,
    /// From the contact book; `None` when the recipient has none.
    pub name: Option<&'a str>,
    /// The uploaded CSV row: (header, value).
    pub columns: &'a [(String, String)],
    /// The local date-time of the send.
    pub now: NaiveDateTime,
    pub lang: Lang,
    /// A business event's data (`{{order.reference}}`); `None` elsewhere.
    pub data: Option<&'a serde_json::Value>,
}

impl Vars<'_> {
    fn value(&self, var: &Var) -> Option<String> {
        match var {
            Var::Name => non_blank(self.name?).map(str::to_owned),
            Var::Phone => Some(self.phone.to_owned()),
            Var::Column(key) => {
                let (_, value) = self
                    .columns
                    .iter()
                    .find(|(header, _)| header.trim().to_lowercase() == *key)?;
                non_blank(value).map(str::to_owned)
            }
            Var::DateNow => Some(format_date(self.now, self.lang)),
            Var::DateTime => Some(format!("{:02}:{:02}", self.now.hour(), self.now.minute())),
            Var::Data(path) => crate::events::value_at(self.data?, path),
        }
    }
}

fn non_blank(value: &str) -> Option<&str> {
    let value = value.trim();
    (!value.is_empty()).then_some(value)
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn format_date(now: NaiveDateTime, lang: Lang) -> String {
    let month = now.month0() as usize;
    let (day, year) = (now.day(), now.year());
    match lang {
        Lang::Fr if day == 1 => format!("1er {} {year}", MONTHS_FR[month]),
        Lang::Fr => format!("{day} {} {year}", MONTHS_FR[month]),
        Lang::En => format!("{} {day}, {year}", MONTHS_EN[month]),
    }
}

impl Template {
    /// Parses `text`; see the module documentation for the rules.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        Template::parse_mode(text, false)
    }

    /// Parses the template of a business event's rule: besides the variables above, any
    /// dotted name (`{{order.reference}}`, `{{client.name}}`) is a path in the event's data
    /// ([`Vars::data`]); a path the event lacks is [`TemplateError::Missing`] at render.
    pub fn parse_event(text: &str) -> Result<Template, TemplateError> {
        Template::parse_mode(text, true)
    }

    fn parse_mode(text: &str, data: bool) -> Result<Template, TemplateError> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'{' {
                i += 1;
                continue;
            }
            let run_end = i + bytes[i..].iter().take_while(|&&b| b == b'{').count();
            if run_end - i < 2 {
                i = run_end;
                continue;
            }
            let open = run_end - 2;
            let content_end = run_end
                + bytes[run_end..]
                    .iter()
                    .take_while(|&&b| b != b'{' && b != b'}')
                    .count();
            let content = &text[run_end..content_end];
            if bytes[content_end..].starts_with(b"}}") {
                let inner = content.trim();
                let var = Var::from_tag(inner, data)
                    .ok_or_else(|| TemplateError::UnknownVariable(inner.to_owned()))?;
                push_text(&mut parts, &text[literal_start..open]);
                parts.push(Part::Var(var));
                i = content_end + 2;
                literal_start = i;
            } else if content.contains('|') {
                // Nested spintax such as `{{Hi|Hello}|Hey}`: verbatim.
                i = run_end;
            } else {
                return Err(TemplateError::Unclosed { at: open });
            }
        }
        push_text(&mut parts, &text[literal_start..]);
        Ok(Template {
            source: text.to_owned(),
            parts,
        })
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template uses any variable (otherwise every recipient gets the same text).
    pub fn is_personalised(&self) -> bool {
        self.parts.iter().any(|part| matches!(part, Part::Var(_)))
    }

    /// The canonical names of the variables used (`contact.name`, `contact.phone`,
    /// `col.<name lower-cased>`, `date.now`, `date.time`), de-duplicated, in order of first use.
    pub fn variables(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for var in self.vars() {
            let name = var.canonical();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The CSV columns used (`col.*`, lower-cased, without the prefix), de-duplicated, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        for var in self.vars() {
            if let Var::Column(name) = var
                && !columns.contains(name)
            {
                columns.push(name.clone());
            }
        }
        columns
    }

    /// The text for one recipient. Spintax is left for the platform. The first variable without
    /// a value is [`TemplateError::Missing`].
    pub fn render(&self, vars: &Vars<'_>) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(self.source.len() + 32);
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(var) => {
                    let value = vars.value(var).ok_or_else(|| TemplateError::Missing {
                        variable: var.canonical(),
                    })?;
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(var) => Some(var),
            Part::Text(_) => None,
        })
    }
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(Part::Text(text.to_owned()));
    }
}

/// The longest text spintax can produce: every innermost `{a|b}` replaced by its longest option
/// (by chars; ties: the first), repeated until no `{…|…}` group is left; a `{…}` without `|`
/// collapses to its content as the platform does. Used with an SMS analysis to estimate the
/// worst-case segments.
///
/// Braces that match nothing (a `{` never closed, a `}` never opened) stay in the text, as
/// does a `|` outside any group.
pub fn spintax_longest(text: &str) -> String {
    resolve(text, |options| {
        let mut best = 0;
        let mut best_len = 0;
        for (index, option) in options.iter().enumerate() {
            let len = option.chars().count();
            if len > best_len {
                best = index;
                best_len = len;
            }
        }
        options.swap_remove(best)
    })
}

/// Every character any spintax option could contribute, concatenated (so a caller can check
/// whether some option forces UCS-2 encoding). The literal text around the groups is included;
/// the braces and `|` of the groups are not (unmatched braces are, as in [`spintax_longest`]).
pub fn spintax_all_chars(text: &str) -> String {
    resolve(text, |options| options.concat())
}

/// Bracket matching equivalent to "repeatedly resolve the innermost `{…}`": each matched group
/// is replaced by `pick(options)` in its parent; groups still open at the end are put back with
/// their `{` and `|` (their inner groups stay resolved, as the iterative process leaves them).
fn resolve(text: &str, mut pick: impl FnMut(&mut Vec<String>) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    // Open groups, innermost last; each holds its options so far (never empty).
    let mut stack: Vec<Vec<String>> = Vec::new();
    for c in text.chars() {
        match c {
            '{' => stack.push(vec![String::new()]),
            '}' => match stack.pop() {
                Some(mut options) => {
                    let chosen = pick(&mut options);
                    current(&mut stack, &mut out).push_str(&chosen);
                }
                None => out.push('}'),
            },
            '|' => match stack.last_mut() {
                Some(options) => options.push(String::new()),
                None => out.push('|'),
            },
            c => current(&mut stack, &mut out).push(c),
        }
    }
    // The outermost unclosed group was opened after everything in `out`.
    out + &restore_unclosed(stack)
}

/// The buffer text goes to: the last option of the innermost open group, else the output.
fn current<'s>(stack: &'s mut [Vec<String>], out: &'s mut String) -> &'s mut String {
    match stack.last_mut().and_then(|options| options.last_mut()) {
        Some(option) => option,
        None => out,
    }
}

/// Unclosed groups (outermost first), each opened at the end of its parent's last option, so
/// they read back in order.
fn restore_unclosed(stack: Vec<Vec<String>>) -> String {
    let mut text = String::new();
    for options in stack {
        text.push('{');
        text.push_str(&options.join("|"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(h, v)| ((*h).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn vars<'a>(name: Option<&'a str>, columns: &'a [(String, String)]) -> Vars<'a> {
        Vars {
            phone: "+224620000001",
            name,
            columns,
            now: at(2026, 12, 2, 14, 5),
            lang: Lang::Fr,
            data: None,
        }
    }

    fn render(text: &str, vars: &Vars<'_>) -> Result<String, TemplateError> {
        Template::parse(text)?.render(vars)
    }

    #[test]
    fn renders_name_phone_and_column() {
        let columns = cols(&[("Reference", "CMD-42"), ("ville", "Conakry")]);
        let v = vars(Some("Aïssatou"), &columns);
        assert_eq!(
            render(
                "Bonjour {{contact.name}}, votre commande {{col.reference}} est prête ({{contact.phone}})",
                &v
            )
            .unwrap(),
            "Bonjour Aïssatou, votre commande CMD-42 est prête (+224620000001)"
        );
    }

    #[test]
    fn contact_number_is_an_alias_of_contact_phone() {
        let t = Template::parse("{{contact.number}} / {{contact.phone}}").unwrap();
        assert_eq!(
            t.render(&vars(None, &[])).unwrap(),
            "+224620000001 / +224620000001"
        );
        assert_eq!(t.variables(), vec!["contact.phone"]);
    }

    #[test]
    fn tags_allow_spaces_and_any_case() {
        let columns = cols(&[("  Order Ref ", "R1")]);
        let v = vars(Some("Mamadou"), &columns);
        assert_eq!(
            render(
                "{{ Contact.Name }}-{{CONTACT.NAME}}-{{  col.ORDER REF  }}-{{col. order ref}}",
                &v
            )
            .unwrap(),
            "Mamadou-Mamadou-R1-R1"
        );
    }

    #[test]
    fn spintax_is_left_untouched_by_render() {
        let text = "{Bonjour|Salut|{Hey|Yo}} {{contact.name}}, {merci}! {{Hi|Hello}|Hey} a|b }";
        let t = Template::parse(text).unwrap();
        assert_eq!(
            t.render(&vars(Some("Ali"), &[])).unwrap(),
            "{Bonjour|Salut|{Hey|Yo}} Ali, {merci}! {{Hi|Hello}|Hey} a|b }"
        );
        let plain = Template::parse("{a|b} {c}").unwrap();
        assert!(!plain.is_personalised());
        assert_eq!(plain.render(&vars(None, &[])).unwrap(), "{a|b} {c}");
        assert_eq!(plain.source(), "{a|b} {c}");
    }

    #[test]
    fn unknown_variable_is_named() {
        let err = Template::parse("Hello {{ group.name }} !").unwrap_err();
        assert_eq!(err, TemplateError::UnknownVariable("group.name".into()));
        assert_eq!(err.code(), "template.unknown_variable");
        assert_eq!(err.to_string(), "unknown variable {{group.name}}");
        assert_eq!(
            Template::parse("{{}}").unwrap_err(),
            TemplateError::UnknownVariable(String::new())
        );
        assert_eq!(
            Template::parse("{{col.}}").unwrap_err(),
            TemplateError::UnknownVariable("col.".into())
        );
        // A fallback syntax is not supported: refused rather than spun by the platform.
        assert_eq!(
            Template::parse("{{contact.name|ami}}").unwrap_err(),
            TemplateError::UnknownVariable("contact.name|ami".into())
        );
    }

    #[test]
    fn unclosed_tag_is_an_error_with_its_offset() {
        let err = Template::parse("Bonjour {{contact.name").unwrap_err();
        assert_eq!(err, TemplateError::Unclosed { at: 8 });
        assert_eq!(err.code(), "template.unclosed");
        assert_eq!(err.to_string(), "unclosed {{ at byte 8");
        assert_eq!(
            Template::parse("é {{contact.name} x").unwrap_err(),
            TemplateError::Unclosed { at: 3 }
        );
        assert_eq!(
            Template::parse("{{").unwrap_err(),
            TemplateError::Unclosed { at: 0 }
        );
        assert_eq!(
            Template::parse("a {{{").unwrap_err(),
            TemplateError::Unclosed { at: 3 }
        );
    }

    #[test]
    fn missing_name_is_missing_contact_name() {
        let t = Template::parse("Bonjour {{contact.name}}").unwrap();
        let err = t.render(&vars(None, &[])).unwrap_err();
        assert_eq!(
            err,
            TemplateError::Missing {
                variable: "contact.name".into()
            }
        );
        assert_eq!(err.code(), "template.missing_variable");
        assert_eq!(
            t.render(&vars(Some("  "), &[])).unwrap_err(),
            TemplateError::Missing {
                variable: "contact.name".into()
            }
        );
        assert_eq!(t.render(&vars(Some(" Ali "), &[])).unwrap(), "Bonjour Ali");
    }

    #[test]
    fn missing_or_empty_column_is_missing() {
        let t = Template::parse("{{col.ville}} {{col.Reference}}").unwrap();
        let absent = cols(&[("ville", "Kindia")]);
        assert_eq!(
            t.render(&vars(None, &absent)).unwrap_err(),
            TemplateError::Missing {
                variable: "col.reference".into()
            }
        );
        let empty = cols(&[("ville", "Kindia"), ("reference", "   ")]);
        assert_eq!(
            t.render(&vars(None, &empty)).unwrap_err(),
            TemplateError::Missing {
                variable: "col.reference".into()
            }
        );
        // The first missing variable is reported.
        let none = cols(&[]);
        assert_eq!(
            t.render(&vars(None, &none)).unwrap_err(),
            TemplateError::Missing {
                variable: "col.ville".into()
            }
        );
        let full = cols(&[("VILLE", " Kindia "), ("reference", "R7")]);
        assert_eq!(t.render(&vars(None, &full)).unwrap(), "Kindia R7");
    }

    #[test]
    fn dates_in_french_and_english() {
        let t = Template::parse("{{date.now}} à {{date.time}}").unwrap();
        let mut v = vars(None, &[]);
        assert_eq!(t.render(&v).unwrap(), "2 décembre 2026 à 14:05");
        v.lang = Lang::En;
        assert_eq!(t.render(&v).unwrap(), "December 2, 2026 à 14:05");
        v.now = at(2025, 3, 5, 9, 7);
        assert_eq!(t.render(&v).unwrap(), "March 5, 2025 à 09:07");
        v.lang = Lang::Fr;
        assert_eq!(t.render(&v).unwrap(), "5 mars 2025 à 09:07");
        v.now = at(2026, 1, 1, 0, 0);
        assert_eq!(t.render(&v).unwrap(), "1er janvier 2026 à 00:00");
        v.lang = Lang::En;
        assert_eq!(t.render(&v).unwrap(), "January 1, 2026 à 00:00");

        let expected = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        let now = Template::parse("{{DATE.NOW}}").unwrap();
        for (m, month) in expected.iter().enumerate() {
            let v = Vars {
                now: at(2026, m as u32 + 1, 15, 8, 0),
                lang: Lang::Fr,
                data: None,
                ..vars(None, &[])
            };
            assert_eq!(now.render(&v).unwrap(), format!("15 {month} 2026"));
        }
    }

    #[test]
    fn variables_and_columns_in_order_without_duplicates() {
        let t = Template::parse(
            "{{col.Ref}} {{contact.name}} {{col.ref}} {{contact.number}} {{col.ville}} \
             {{contact.phone}} {{date.time}} {{Contact.Name}} {{date.now}}",
        )
        .unwrap();
        assert!(t.is_personalised());
        assert_eq!(
            t.variables(),
            vec![
                "col.ref",
                "contact.name",
                "contact.phone",
                "col.ville",
                "date.time",
                "date.now"
            ]
        );
        assert_eq!(t.columns(), vec!["ref", "ville"]);
        let none = Template::parse("Hello").unwrap();
        assert!(none.variables().is_empty());
        assert!(none.columns().is_empty());
    }

    #[test]
    fn triple_braces_keep_the_extra_braces() {
        let v = vars(Some("Ali"), &[]);
        assert_eq!(render("{{{contact.name}}}", &v).unwrap(), "{Ali}");
        assert_eq!(render("{{{contact.name}}|ami}", &v).unwrap(), "{Ali|ami}");
        assert_eq!(render("{{{{contact.name}}}}", &v).unwrap(), "{{Ali}}");
        assert_eq!(
            render("{{{a|b}|c}|d} {{contact.name}}", &v).unwrap(),
            "{{{a|b}|c}|d} Ali"
        );
        assert_eq!(render("}} {{contact.name}}}}", &v).unwrap(), "}} Ali}}");
        assert_eq!(
            render("{ {contact.name} }", &v).unwrap(),
            "{ {contact.name} }"
        );
    }

    #[test]
    fn spintax_longest_picks_the_longest_options() {
        assert_eq!(spintax_longest("{a|{bb|ccc}}"), "ccc");
        assert_eq!(spintax_longest("{aaaa|{bb|ccc}}"), "aaaa");
        assert_eq!(spintax_longest("Hi {x|yy|zz} there"), "Hi yy there");
        assert_eq!(spintax_longest("{Bonjour|Salut} {ami}!"), "Bonjour ami!");
        assert_eq!(spintax_longest("{{Hi|Hello}|Hey} you"), "Hello you");
        assert_eq!(spintax_longest("plain text, a|b"), "plain text, a|b");
        assert_eq!(spintax_longest("{abc}"), "abc");
        assert_eq!(spintax_longest("{}"), "");
        assert_eq!(spintax_longest("{{{x}}}"), "x");
        // By chars, not bytes: "éé" (4 bytes) loses to "abc".
        assert_eq!(spintax_longest("{éé|abc}"), "abc");
        // Unmatched braces stay.
        assert_eq!(spintax_longest("} {a|{b|cc}"), "} {a|cc");
        assert_eq!(spintax_longest("{x|{y"), "{x|{y");
        assert_eq!(spintax_longest("a}b{c|dd}"), "a}bdd");
    }

    #[test]
    fn spintax_all_chars_collects_every_option() {
        assert_eq!(spintax_all_chars("Hi {a|{é|ccc}}!"), "Hi aéccc!");
        assert_eq!(spintax_all_chars("{x|€}"), "x€");
        assert_eq!(spintax_all_chars("no spintax | here"), "no spintax | here");
        assert_eq!(spintax_all_chars("{a|b"), "{a|b");
    }

    #[test]
    fn no_panic_on_odd_inputs() {
        let pieces = [
            "{{",
            "}}",
            "{",
            "}",
            "|",
            "{{}}",
            " ",
            "contact.name",
            "col.",
            "col.x",
            "é",
            "😀",
            "{{contact.name",
            "{ {contact.name} }",
            "{{{",
            "}}}",
            "\u{0}",
            "\n",
            "ß",
            "İ",
            "{{ col.İ }}",
            "a|b",
            "{{date.now}}",
        ];
        let columns = cols(&[("x", "1"), ("İ", "dotted")]);
        let v = vars(Some("😀"), &columns);
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 8) as usize;
            let mut s = seed;
            for _ in 0..=len {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                text.push_str(pieces[(s >> 33) as usize % pieces.len()]);
            }
            match Template::parse(&text) {
                Ok(t) => {
                    assert_eq!(t.source(), text);
                    let _ = t.render(&v);
                    let _ = t.variables();
                    let _ = t.columns();
                }
                Err(TemplateError::Unclosed { at }) => {
                    assert!(text.is_char_boundary(at) && text[at..].starts_with("{{"));
                }
                Err(_) => {}
            }
            let longest = spintax_longest(&text);
            let all = spintax_all_chars(&text);
            assert!(longest.chars().count() <= all.chars().count());
            // Every character of the longest text is one the platform could send.
            assert!(longest.chars().all(|c| all.contains(c)));
        }
    }
}
