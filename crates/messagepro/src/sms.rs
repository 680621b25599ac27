//! SMS text analysis: encoding, length in units and number of segments.
//!
//! Operators bill per segment, and one accented character outside the GSM-7 alphabet switches the
//! whole message to UCS-2 (70 instead of 160 characters), so forms and campaigns show this before
//! sending. Rules (3GPP TS 23.038): GSM-7 basic table = 1 septet, extension table
//! (`^{}\[~]|€` and form feed) = 2 septets; one segment holds 160 septets, a concatenated
//! segment 153 (the UDH takes 7). UCS-2 counts UTF-16 code units (most emoji are 2): 70 alone,
//! 67 per concatenated segment. An escape pair or a surrogate pair is never split across two
//! segments, like handsets do.
//!
//! The request types for the SMS endpoints live in [`crate::api::sms`].

use serde::Serialize;

/// The alphabet a message will be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// GSM 03.38 7-bit default alphabet (160 / 153 septets).
    Gsm7,
    /// UCS-2 / UTF-16 (70 / 67 code units).
    Ucs2,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        })
    }
}

/// The result of [`analyze`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SmsAnalysis {
    /// GSM-7 or UCS-2.
    pub encoding: Encoding,
    /// Number of Unicode scalar values (what a person would call characters).
    pub characters: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Number of SMS the operator will bill; 0 for an empty text.
    pub segments: usize,
    /// Units one segment holds in this message (160/153 for GSM-7, 70/67 for UCS-2).
    pub per_segment: usize,
    /// Units still free in the current (last) segment.
    pub remaining: usize,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Septets needed for `c` in GSM-7, or `None` when `c` is not in the alphabet.
fn gsm7_septets(c: char) -> Option<usize> {
    if c.is_ascii() {
        // Fast path: every printable ASCII char except ` is in one of the two tables.
        return match c {
            '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '\u{000C}' => Some(2),
            '`' => None,
            ' '..='~' | '\n' | '\r' => Some(1),
            _ => None,
        };
    }
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Counts characters, units and segments of `text` as an SMS.
///
/// ```
/// use messagepro::sms::{analyze, Encoding};
/// let a = analyze("Votre commande est prête");
/// assert_eq!(a.encoding, Encoding::Ucs2);
/// assert_eq!(a.segments, 1);
/// ```
pub fn analyze(text: &str) -> SmsAnalysis {
    // One pass decides the alphabet and counts septets; no allocation.
    let mut septets = 0;
    let mut gsm = true;
    for c in text.chars() {
        match gsm7_septets(c) {
            Some(n) => septets += n,
            None => {
                gsm = false;
                break;
            }
        }
    }
    let (encoding, single, multi) = if gsm {
        (Encoding::Gsm7, 160, 153)
    } else {
        (Encoding::Ucs2, 70, 67)
    };
    let cost = |c: char| -> usize {
        if gsm {
            gsm7_septets(c).unwrap_or(1)
        } else {
            c.len_utf16()
        }
    };
    let characters = text.chars().count();
    let units = if gsm {
        septets
    } else {
        text.encode_utf16().count()
    };
    let result = |segments, per_segment, remaining| SmsAnalysis {
        encoding,
        characters,
        units,
        segments,
        per_segment,
        remaining,
    };
    if units == 0 {
        return result(0, single, single);
    }
    if units <= single {
        return result(1, single, single - units);
    }
    // Concatenated: fill segments greedily, never splitting an escape or surrogate pair.
    let mut segments = 1;
    let mut used = 0;
    for c in text.chars() {
        let n = cost(c);
        if used + n > multi {
            segments += 1;
            used = 0;
        }
        used += n;
    }
    result(segments, multi, multi - used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: usize) -> String {
        "a".repeat(n)
    }

    #[test]
    fn encodings_display_their_usual_names() {
        assert_eq!(Encoding::Gsm7.to_string(), "GSM-7");
        assert_eq!(Encoding::Ucs2.to_string(), "UCS-2");
    }

    #[test]
    fn empty_text_is_zero_segments() {
        let r = analyze("");
        assert_eq!((r.segments, r.units, r.remaining), (0, 0, 160));
    }

    #[test]
    fn gsm7_single_segment_ends_at_160() {
        let r = analyze(&a(160));
        assert_eq!(
            (r.encoding, r.segments, r.remaining),
            (Encoding::Gsm7, 1, 0)
        );
        let r = analyze(&a(161));
        assert_eq!(
            (r.segments, r.per_segment, r.remaining),
            (2, 153, 153 * 2 - 161)
        );
    }

    #[test]
    fn gsm7_concatenated_segments_hold_153() {
        assert_eq!(analyze(&a(153)).segments, 1);
        assert_eq!(analyze(&a(154)).segments, 1);
        assert_eq!(analyze(&a(306)).segments, 2);
        assert_eq!(analyze(&a(307)).segments, 3);
        assert_eq!(analyze(&a(306)).remaining, 0);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        for c in ["€", "^", "{", "}", "\\", "[", "~", "]", "|"] {
            let r = analyze(c);
            assert_eq!(
                (r.encoding, r.units, r.characters),
                (Encoding::Gsm7, 2, 1),
                "{c}"
            );
        }
        // 159 + one 2-septet char = 161 septets → two segments.
        let r = analyze(&format!("{}€", a(159)));
        assert_eq!((r.units, r.segments), (161, 2));
        // 158 + € = 160 → still one.
        assert_eq!(analyze(&format!("{}€", a(158))).segments, 1);
    }

    #[test]
    fn an_escape_pair_is_not_split_across_segments() {
        // 152 septets then € (2): does not fit the 153 left in segment one → moves to segment two.
        let r = analyze(&format!("{}€{}", a(152), a(10)));
        assert_eq!(r.units, 164);
        assert_eq!(r.segments, 2);
        assert_eq!(r.remaining, 153 - 12);
    }

    #[test]
    fn ucs2_limits_are_70_and_67() {
        let u = |n: usize| "ê".repeat(n);
        assert_eq!(analyze(&u(70)).segments, 1);
        let r = analyze(&u(71));
        assert_eq!(
            (r.encoding, r.segments, r.per_segment),
            (Encoding::Ucs2, 2, 67)
        );
        assert_eq!(analyze(&u(134)).segments, 2);
        assert_eq!(analyze(&u(135)).segments, 3);
    }

    #[test]
    fn emoji_count_two_utf16_units() {
        let r = analyze("Merci 🙏");
        assert_eq!(r.encoding, Encoding::Ucs2);
        assert_eq!(r.characters, 7);
        assert_eq!(r.units, 8);
        assert_eq!(r.remaining, 62);
    }

    #[test]
    fn a_single_accent_outside_gsm7_switches_french_text_to_ucs2() {
        let r = analyze("« Votre commande est prête »");
        assert_eq!(r.encoding, Encoding::Ucs2);
        // é, è, à, ù, ç-capital are GSM-7; ê and « » are not.
        assert_eq!(
            analyze("Votre commande est expédiée à Conakry").encoding,
            Encoding::Gsm7
        );
        assert_eq!(analyze("Votre commande est prête").encoding, Encoding::Ucs2);
    }
}
