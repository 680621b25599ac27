//! CSV contact import. Every row is reported with its 1-based line number — created, duplicate
//! (of an earlier line, or of an existing contact), invalid or missing phone, or beyond
//! [`MAX_IMPORT_ROWS`] — so nothing is dropped silently.
//!
//! The `csv` crate reads the fields (quoting, `,` / `;` / tab). Written by hand, because no
//! library does it for this input: guessing the delimiter from the first line, recognising a
//! French or English header (`Nom;Téléphone`, `name,phone`…) or its absence, mapping a record
//! back to its line in the file when blank lines come before it ([`csv::Position::line`] points
//! at those blank lines), and the Latin-1 fallback of [`decode`] (Excel saves CSV in the Windows
//! code page in French; bytes are read as Latin-1, so 0x80–0x9F are not mapped to `€`, `œ`…).

use std::collections::{BTreeSet, HashMap};

use messagepro::Phone;
use messagepro_store::{Outcome, StoreError};

use super::{ContactsError, MAX_NAME, clip};
use crate::{Actor, Core};

/// Rows accepted in one import (later rows are reported as [`RowOutcome::TooManyRows`]).
pub const MAX_IMPORT_ROWS: usize = 10_000;

/// What happened to one row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    Created,
    /// The number is on an earlier line of the same file.
    DuplicateInFile,
    /// The number is already a contact (it still joins the chosen groups).
    DuplicateExisting,
    InvalidPhone,
    MissingPhone,
    TooManyRows,
}

impl RowOutcome {
    /// The stable machine code (the console's keys are `contacts.import.<code>`).
    pub fn code(self) -> &'static str {
        match self {
            RowOutcome::Created => "created",
            RowOutcome::DuplicateInFile => "duplicate_file",
            RowOutcome::DuplicateExisting => "duplicate_existing",
            RowOutcome::InvalidPhone => "invalid_phone",
            RowOutcome::MissingPhone => "missing_phone",
            RowOutcome::TooManyRows => "too_many",
        }
    }

    /// A duplicate, of an earlier line or of an existing contact.
    pub fn is_duplicate(self) -> bool {
        matches!(
            self,
            RowOutcome::DuplicateInFile | RowOutcome::DuplicateExisting
        )
    }

    /// A row that could not be imported at all.
    pub fn is_invalid(self) -> bool {
        matches!(
            self,
            RowOutcome::InvalidPhone | RowOutcome::MissingPhone | RowOutcome::TooManyRows
        )
    }
}

/// One reported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based line of the file.
    pub line: u64,
    pub name: String,
    /// What the file said (trimmed, at most 40 characters).
    pub input: String,
    /// E.164, when it parsed.
    pub phone: Option<String>,
    pub outcome: RowOutcome,
    /// For in-file duplicates: the first line with that number.
    pub first_line: Option<u64>,
}

/// The result of [`Core::import_contacts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Every row, in file order.
    pub rows: Vec<ImportRow>,
    /// The local groups the imported contacts joined (the requested ids that exist).
    pub groups: BTreeSet<i64>,
}

impl ImportReport {
    /// Rows with this outcome.
    pub fn count(&self, outcome: RowOutcome) -> usize {
        self.rows.iter().filter(|r| r.outcome == outcome).count()
    }

    /// Rows that created a contact.
    pub fn created(&self) -> usize {
        self.count(RowOutcome::Created)
    }

    /// Rows that repeat an earlier line or an existing contact.
    pub fn duplicates(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome.is_duplicate())
            .count()
    }

    /// Rows not imported (invalid or missing phone, too many rows).
    pub fn invalid(&self) -> usize {
        self.rows.iter().filter(|r| r.outcome.is_invalid()).count()
    }
}

/// A parsed CSV row before it touches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based line of the file.
    pub line: u64,
    /// The name column (trimmed, at most [`MAX_NAME`] characters), or empty.
    pub name: String,
    /// The phone column as written, or empty.
    pub phone: String,
}

const PHONE_HEADERS: &[&str] = &[
    "phone",
    "telephone",
    "téléphone",
    "tel",
    "tél",
    "numero",
    "numéro",
    "number",
    "mobile",
    "portable",
];
const NAME_HEADERS: &[&str] = &["name", "nom", "nom complet", "full name", "contact"];

/// Decodes an uploaded file: UTF-8, else Windows-1252/Latin-1 (Excel's default in French).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Line numbers of byte offsets in `text`, counted forward: records come in order, so each one
/// costs only the bytes since the previous one (not the whole file again).
struct Lines<'a> {
    text: &'a [u8],
    /// Bytes counted so far, and the 1-based line at that point.
    pos: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Lines<'a> {
        Lines {
            text,
            pos: 0,
            line: 1,
        }
    }

    /// The 1-based line of the first non-newline byte at or after `offset`.
    fn line_of(&mut self, offset: usize) -> u64 {
        let text = self.text;
        let mut start = offset.min(text.len());
        while start < text.len() && matches!(text[start], b'\n' | b'\r') {
            start += 1;
        }
        if start < self.pos {
            (self.pos, self.line) = (0, 1);
        }
        self.line += text[self.pos..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.pos = start;
        self.line
    }
}

/// Reads CSV text (`,` or `;`, optional header `name/nom`, `phone/téléphone…`; without a header
/// the columns are name then phone, or phone alone). Blank lines are not rows; an unreadable
/// line (bad quoting) is a row without a phone.
pub fn parse_csv(text: &str) -> Vec<CsvRow> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delim = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let (mut name_col, mut phone_col): (Option<usize>, usize) = (Some(0), 1);
    let mut out = Vec::new();
    let mut header_seen = false;
    let mut record = csv::StringRecord::new();
    let mut lines = Lines::new(text.as_bytes());
    loop {
        let line = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => {
                // an unreadable line (bad quoting) is reported as a row without a phone
                out.push(CsvRow {
                    line,
                    name: String::new(),
                    phone: String::new(),
                });
                continue;
            }
        }
        // the reader's position of a record that follows blank lines points at those lines:
        // count the newlines up to its first real byte instead
        let line = record
            .position()
            .map(|p| lines.line_of(p.byte() as usize))
            .unwrap_or(line);
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let lower: Vec<String> = record.iter().map(|f| f.to_lowercase()).collect();
            let p = lower
                .iter()
                .position(|f| PHONE_HEADERS.contains(&f.as_str()));
            if let Some(p) = p {
                phone_col = p;
                name_col = lower
                    .iter()
                    .position(|f| NAME_HEADERS.contains(&f.as_str()));
                continue;
            }
            if record.len() == 1 {
                name_col = None;
                phone_col = 0;
            }
        }
        out.push(CsvRow {
            line,
            name: name_col
                .and_then(|c| record.get(c))
                .map(|s| clip(s, MAX_NAME))
                .unwrap_or_default(),
            phone: record.get(phone_col).unwrap_or("").to_owned(),
        });
    }
    out
}

impl Core {
    /// Imports the contacts of CSV `text` (see [`parse_csv`]) into the store; new and existing
    /// contacts join `groups` (ids that do not exist are ignored). Reports every row, and writes
    /// one `contact.import` audit entry. [`ContactsError::EmptyImport`] when there is no row.
    #[tracing::instrument(skip_all, fields(groups = groups.len()))]
    pub async fn import_contacts(
        &self,
        actor: &Actor,
        text: &str,
        groups: &BTreeSet<i64>,
    ) -> Result<ImportReport, ContactsError> {
        self.check_manage(actor)?;
        let rows = parse_csv(text);
        if rows.is_empty() {
            return Err(ContactsError::EmptyImport);
        }
        let existing = self.inner.store.list_groups().await?;
        let groups: BTreeSet<i64> = groups
            .iter()
            .copied()
            .filter(|id| existing.iter().any(|g| g.id == *id))
            .collect();
        let report = ImportReport {
            rows: self.import_rows(&rows, &groups).await?,
            groups,
        };
        self.audit_contacts(
            actor,
            "contact.import",
            Outcome::Success,
            format!("{} rows, {} created", report.rows.len(), report.created()),
        )
        .await;
        Ok(report)
    }

    async fn import_rows(
        &self,
        rows: &[CsvRow],
        groups: &BTreeSet<i64>,
    ) -> Result<Vec<ImportRow>, ContactsError> {
        let store = &self.inner.store;
        let country = self.inner.platform.default_country();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut report = Vec::with_capacity(rows.len());
        for (i, raw) in rows.iter().enumerate() {
            let mut row = ImportRow {
                line: raw.line,
                name: raw.name.clone(),
                input: clip(&raw.phone, 40),
                phone: None,
                outcome: RowOutcome::Created,
                first_line: None,
            };
            if i >= MAX_IMPORT_ROWS {
                row.outcome = RowOutcome::TooManyRows;
                report.push(row);
                continue;
            }
            if raw.phone.trim().is_empty() {
                row.outcome = RowOutcome::MissingPhone;
                report.push(row);
                continue;
            }
            let Ok(phone) = Phone::parse(&raw.phone, country) else {
                row.outcome = RowOutcome::InvalidPhone;
                report.push(row);
                continue;
            };
            let e164 = phone.e164().to_owned();
            row.phone = Some(e164.clone());
            if let Some(first) = seen.get(&e164) {
                row.outcome = RowOutcome::DuplicateInFile;
                row.first_line = Some(*first);
                report.push(row);
                continue;
            }
            seen.insert(e164.clone(), raw.line);
            let contact_name = if raw.name.is_empty() {
                e164.clone()
            } else {
                raw.name.clone()
            };
            let id = match store
                .insert_contact(&contact_name, &e164, self.now_ms())
                .await
            {
                Ok(c) => c.id,
                Err(StoreError::Conflict(_)) => {
                    row.outcome = RowOutcome::DuplicateExisting;
                    // an existing contact still joins the chosen groups
                    match store.contact_by_phone(&e164).await? {
                        Some(c) => c.id,
                        None => {
                            report.push(row);
                            continue;
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            };
            for g in groups {
                store.add_to_group(id, *g).await?;
            }
            report.push(row);
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testenv::{env, manager, reader};
    use super::*;
    use messagepro_store::{AuditFilter, ContactFilter, Page};

    #[test]
    fn csv_with_a_french_header_and_semicolons_keeps_line_numbers() {
        let rows = parse_csv("Nom;Téléphone\nAwa;621 23 45 67\n\nMoussa;abc\n");
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].name.as_str()), (2, "Awa"));
        assert_eq!((rows[1].line, rows[1].phone.as_str()), (4, "abc"));
    }

    #[test]
    fn csv_without_header_reads_name_then_phone_or_phone_alone() {
        let rows = parse_csv("Awa,621234567\nBinta,622000000\n");
        assert_eq!(rows[0].phone, "621234567");
        assert_eq!(rows[1].line, 2);
        let rows = parse_csv("621234567\n622000000\n");
        assert_eq!(rows[1].phone, "622000000");
        assert_eq!(rows[1].name, "");
    }

    #[test]
    fn line_of_skips_the_blank_lines_before_a_record() {
        let text = b"a,1\n\n\r\nb,2\n";
        let mut lines = Lines::new(text);
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(4), 4);
        assert_eq!(lines.line_of(100), 5);
        assert_eq!(lines.line_of(4), 4, "counting again from the start");
    }

    #[test]
    fn a_tab_separated_file_and_a_bom_before_a_phone_first_header_are_read() {
        let rows = parse_csv("Nom\tTéléphone\nAwa\t621234567\n");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].name.as_str(), rows[0].phone.as_str()),
            ("Awa", "621234567")
        );
        let rows = parse_csv("\u{feff}phone,name\n621234567,Awa\n");
        assert_eq!((rows[0].line, rows[0].name.as_str()), (2, "Awa"));
    }

    #[test]
    fn a_latin1_file_is_decoded() {
        assert_eq!(decode(b"Ren\xe9e;621234567"), "Renée;621234567");
        assert_eq!(decode("Renée".as_bytes()), "Renée");
    }

    #[tokio::test]
    async fn each_row_is_reported_with_its_outcome_and_line() {
        // Arrange
        let env = env().await;
        let store = env.core.store();
        store
            .insert_contact("Déjà là", "+224622000000", 0)
            .await
            .unwrap();
        let group = store.insert_group("Clients", 0).await.unwrap();
        let csv = "Nom;Téléphone\n\
                   Awa;621 23 45 67\n\
                   Awa encore;00224621234567\n\
                   Inconnu;12345\n\
                   \n\
                   Ancien;622 00 00 00\n\
                   Sans numéro;\n";
        let groups = BTreeSet::from([group.id, 9_999]);
        // Act
        let report = env
            .core
            .import_contacts(&manager(), csv, &groups)
            .await
            .unwrap();
        // Assert
        let got: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.line, r.outcome, r.first_line, r.phone.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (2, RowOutcome::Created, None, Some("+224621234567")),
                (
                    3,
                    RowOutcome::DuplicateInFile,
                    Some(2),
                    Some("+224621234567")
                ),
                (4, RowOutcome::InvalidPhone, None, None),
                (
                    6,
                    RowOutcome::DuplicateExisting,
                    None,
                    Some("+224622000000")
                ),
                (7, RowOutcome::MissingPhone, None, None),
            ]
        );
        assert_eq!(report.rows[2].input, "12345");
        assert_eq!(
            (report.created(), report.duplicates(), report.invalid()),
            (1, 2, 2)
        );
        assert_eq!(
            report.groups,
            BTreeSet::from([group.id]),
            "unknown group ignored"
        );
        let members = ContactFilter {
            group_id: Some(group.id),
            include_opted_out: true,
            ..Default::default()
        };
        assert_eq!(
            store.count_contacts(&members).await.unwrap(),
            2,
            "the new and the existing contact joined the group"
        );
        let audit = store
            .list_audit(&AuditFilter::default(), Page::first(10))
            .await
            .unwrap();
        assert!(
            audit.iter().any(|a| a.action == "contact.import"
                && a.detail.as_deref() == Some("5 rows, 1 created")),
            "{audit:?}"
        );
        env.cleanup().await;
    }

    #[tokio::test]
    async fn rows_past_the_limit_are_reported_not_imported() {
        // Arrange: rows the limit lets through are invalid (nothing to store), the last is valid
        let env = env().await;
        let mut csv = "pas un numéro\n".repeat(MAX_IMPORT_ROWS);
        csv.push_str("621234567\n");
        // Act
        let report = env
            .core
            .import_contacts(&manager(), &csv, &BTreeSet::new())
            .await
            .unwrap();
        // Assert
        assert_eq!(report.rows.len(), MAX_IMPORT_ROWS + 1);
        let last = report.rows.last().unwrap();
        assert_eq!((last.line, last.outcome), (10_001, RowOutcome::TooManyRows));
        assert_eq!(last.phone, None, "not even parsed");
        assert_eq!(report.invalid(), MAX_IMPORT_ROWS + 1);
        assert_eq!(report.created(), 0);
        env.cleanup().await;
    }

    #[tokio::test]
    async fn an_empty_text_or_a_reader_imports_nothing() {
        let env = env().await;
        let err = env
            .core
            .import_contacts(&manager(), "\n \n", &BTreeSet::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "empty");
        let err = env
            .core
            .import_contacts(&reader(), "621234567", &BTreeSet::new())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "forbidden");
        let all = ContactFilter {
            include_opted_out: true,
            ..Default::default()
        };
        assert_eq!(env.core.store().count_contacts(&all).await.unwrap(), 0);
        env.cleanup().await;
    }
}
