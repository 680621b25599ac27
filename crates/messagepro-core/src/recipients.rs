//! Reading a list of recipients typed or uploaded by a user (one per line, or CSV rows such as
//! `name,phone`): every line is accounted for — a valid number (normalised to E.164 with the
//! default country), a duplicate of an earlier line, or an invalid line reported with its number.
//! Used by the SMS campaign preview and available to the WhatsApp campaign page. A CSV with a
//! header row also gives each recipient its columns (`{{col.reference}}` in a template).

use std::collections::{HashMap, HashSet};

use messagepro::Phone;

/// An input line that is not a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    /// Where it came from (`source` label given by the caller, e.g. the textarea or the file).
    pub source: &'static str,
    /// 1-based line number in that source.
    pub line: usize,
    /// The line as typed (truncated to 80 characters).
    pub text: String,
}

/// The parsed recipients of a campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientList {
    /// Valid, de-duplicated numbers in input order.
    pub phones: Vec<Phone>,
    /// Lines that are not valid numbers.
    pub invalid: Vec<InvalidLine>,
    /// How many valid lines repeated an earlier number.
    pub duplicates: usize,
    seen: HashSet<String>,
    /// The CSV columns of each recipient read from a file with a header row, by E.164.
    pub columns: HashMap<String, Vec<(String, String)>>,
}

impl RecipientList {
    pub fn new() -> RecipientList {
        RecipientList::default()
    }

    /// Adds one number (e.g. a group member) unless already present; returns whether it was new.
    pub fn push(&mut self, phone: Phone) -> bool {
        if self.seen.insert(phone.e164().to_owned()) {
            self.phones.push(phone);
            true
        } else {
            self.duplicates += 1;
            false
        }
    }

    /// Reads `text` line by line. Blank lines are skipped; in a CSV row the first field that is a
    /// valid number is taken; a first line without any digit is taken as a CSV header.
    pub fn add_text(&mut self, source: &'static str, text: &str, default_country: &str) {
        let field = |f: &str| f.trim().trim_matches('"').trim().to_owned();
        let mut headers: Vec<String> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim().trim_start_matches('\u{feff}');
            if line.is_empty() {
                continue;
            }
            if i == 0
                && !line.chars().any(|c| c.is_ascii_digit())
                && line.contains([',', ';', '\t'])
            {
                headers = line.split([',', ';', '\t']).map(field).collect();
                continue; // header row
            }
            let phone = if line.contains([',', ';', '\t']) {
                line.split([',', ';', '\t'])
                    .map(|f| f.trim().trim_matches('"').trim())
                    .filter(|f| !f.is_empty())
                    .find_map(|f| Phone::parse(f, default_country).ok())
            } else {
                Phone::parse(line, default_country).ok()
            };
            match phone {
                Some(p) => {
                    if !headers.is_empty() && !self.columns.contains_key(p.e164()) {
                        let values = line.split([',', ';', '\t']).map(field);
                        let row = headers.iter().cloned().zip(values).collect();
                        self.columns.insert(p.e164().to_owned(), row);
                    }
                    self.push(p);
                }
                None => self.invalid.push(InvalidLine {
                    source,
                    line: i + 1,
                    text: line.chars().take(80).collect(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_valid_duplicate_or_reported_with_its_number() {
        let mut r = RecipientList::new();
        r.add_text(
            "list",
            "621 23 45 67\n\nnot a number\n+224621234567\nAwa, 622 11 22 33\n123",
            "GN",
        );
        let e164: Vec<_> = r.phones.iter().map(|p| p.e164().to_owned()).collect();
        assert_eq!(e164, ["+224621234567", "+224622112233"]);
        assert_eq!(r.duplicates, 1);
        let lines: Vec<_> = r.invalid.iter().map(|l| l.line).collect();
        assert_eq!(lines, [3, 6]);
    }

    #[test]
    fn a_csv_with_a_header_gives_each_recipient_its_columns() {
        let mut r = RecipientList::new();
        r.add_text(
            "file",
            "\u{feff}nom;telephone;reference\nAwa;621234567;A-1\nBah;\"622 11 22 33\";B-2\nAwa bis;621234567;A-9\n",
            "GN",
        );
        assert_eq!(r.phones.len(), 2);
        assert_eq!(
            r.columns["+224622112233"],
            [
                ("nom".to_string(), "Bah".to_string()),
                ("telephone".to_string(), "622 11 22 33".to_string()),
                ("reference".to_string(), "B-2".to_string())
            ]
        );
        assert_eq!(
            r.columns["+224621234567"][2].1, "A-1",
            "the first row of a number wins"
        );
    }

    #[test]
    fn a_csv_header_is_skipped() {
        let mut r = RecipientList::new();
        r.add_text("file", "name,phone\nAwa,621234567\n", "GN");
        assert_eq!(r.phones.len(), 1);
        assert!(r.invalid.is_empty());
    }
}
