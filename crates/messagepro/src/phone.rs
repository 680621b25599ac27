//! `Phone`: a phone number parsed once at the edge and carried as E.164.
//!
//! Message Pro's send endpoints force a `+` in front of whatever they receive (spec §3.3 variant
//! B), so a local number such as `621 23 45 67` would be rejected or, worse, read as another
//! country's number. The client therefore never puts user input on the wire: callers parse into a
//! `Phone` (with a default country, GN unless configured) and the request builders only accept
//! `Phone`, whose `Display` and serde form are E.164.
//!
//! Parsing uses `rlibphonenumber` (≈1 µs per parse+validate+format, see `docs/benchmarks.md`).

use std::fmt;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumberFormat, Region};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhoneError {
    /// The default country is not an ISO 3166-1 alpha-2 code known to libphonenumber.
    #[error("`{0}` is not a known ISO 3166 two-letter country code")]
    UnknownCountry(String),
    /// The text is not a phone number at all.
    #[error("`{input}` is not a phone number ({reason})")]
    Unparseable {
        /// What the user typed.
        input: String,
        /// libphonenumber's reason.
        reason: String,
    },
    /// The text parses but is not a valid number for its country.
    #[error("`{0}` is not a valid phone number")]
    Invalid(String),
}

/// A valid phone number, normalised to E.164 (`+224621234567`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone {
    e164: String,
    region: [u8; 2],
}

fn region_of(code: &str) -> Result<Region, PhoneError> {
    let region =
        Region::from_code(code.trim()).map_err(|_| PhoneError::UnknownCountry(code.to_owned()))?;
    if PHONE_NUMBER_UTIL
        .get_country_code_for_region(region)
        .is_none()
    {
        return Err(PhoneError::UnknownCountry(code.to_owned()));
    }
    Ok(region)
}

impl Phone {
    /// Parses `input` in international form (`+224…`, `00224…`) or in the local form of
    /// `default_country` (ISO alpha-2, e.g. `"GN"`), and checks it is a valid number.
    ///
    /// ```
    /// use messagepro::Phone;
    /// let p = Phone::parse("621 23 45 67", "GN").unwrap();
    /// assert_eq!(p.e164(), "+224621234567");
    /// assert_eq!(p.region(), Some("GN"));
    /// ```
    pub fn parse(input: &str, default_country: &str) -> Result<Self, PhoneError> {
        let region = region_of(default_country)?;
        Self::parse_inner(input, Some(region))
    }

    /// Parses a number that must carry its country code (`+…`).
    pub fn parse_international(input: &str) -> Result<Self, PhoneError> {
        Self::parse_inner(input, None)
    }

    fn parse_inner(input: &str, region: Option<Region>) -> Result<Self, PhoneError> {
        let number =
            PHONE_NUMBER_UTIL
                .parse(input, region)
                .map_err(|e| PhoneError::Unparseable {
                    input: input.to_owned(),
                    reason: e.to_string(),
                })?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid(input.to_owned()));
        }
        let e164 = number.format_as(PhoneNumberFormat::E164).into_owned();
        let region = number
            .get_region_code()
            .map(|r| {
                let s = r.as_region_str();
                let b = s.as_bytes();
                if b.len() == 2 { [b[0], b[1]] } else { *b"ZZ" }
            })
            .unwrap_or(*b"ZZ");
        Ok(Self { e164, region })
    }

    /// The E.164 form, e.g. `+224621234567`. This is what goes on the wire.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The ISO alpha-2 country of the number (`GN`), when libphonenumber can tell.
    pub fn region(&self) -> Option<&str> {
        if &self.region == b"ZZ" {
            None
        } else {
            std::str::from_utf8(&self.region).ok()
        }
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.e164)
    }
}

impl std::str::FromStr for Phone {
    type Err = PhoneError;
    /// Parses an international number (no default country).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_international(s)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.e164)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_international(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guinean_local_international_and_idd_forms_all_normalise_to_e164() {
        for input in [
            "621 23 45 67",
            "621234567",
            "+224 621 23 45 67",
            "00224621234567",
            "+224621234567",
        ] {
            let p = Phone::parse(input, "GN").unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.e164(), "+224621234567", "{input}");
            assert_eq!(p.region(), Some("GN"));
        }
    }

    #[test]
    fn other_countries_parse_with_their_own_default() {
        assert_eq!(
            Phone::parse("06 12 34 56 78", "FR").unwrap().e164(),
            "+33612345678"
        );
        assert_eq!(
            Phone::parse("77 123 45 67", "SN").unwrap().e164(),
            "+221771234567"
        );
        let p = Phone::parse("+33 6 12 34 56 78", "GN").unwrap();
        assert_eq!(p.region(), Some("FR"));
    }

    #[test]
    fn garbage_and_invalid_numbers_are_refused() {
        assert!(matches!(
            Phone::parse("hello", "GN"),
            Err(PhoneError::Unparseable { .. })
        ));
        assert!(matches!(
            Phone::parse("123", "GN"),
            Err(PhoneError::Invalid(_))
        ));
        assert!(matches!(
            Phone::parse("621234567", "XX"),
            Err(PhoneError::UnknownCountry(_))
        ));
    }

    #[test]
    fn serde_uses_the_e164_string() {
        let p = Phone::parse("621234567", "GN").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+224621234567\"");
        let back: Phone = serde_json::from_str("\"+224621234567\"").unwrap();
        assert_eq!(back, p);
    }
}
