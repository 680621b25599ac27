//! [`Username`]: parsed once at the edge (forms, CLI), so everything inward handles a valid,
//! normalised name: 3–32 characters among lowercase ASCII letters, digits, `.`, `_`, `-`,
//! starting with a letter or digit. Input is trimmed and lowercased (`Awa` and `awa` are one user).

use std::fmt;
use std::str::FromStr;

/// A valid console username.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a username was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a username has 3 to 32 characters: letters a-z, digits, '.', '_' or '-', starting with a letter or a digit"
)]
pub struct InvalidUsername;

impl Username {
    pub fn parse(input: &str) -> Result<Username, InvalidUsername> {
        let s = input.trim().to_ascii_lowercase();
        let ok_len = (3..=32).contains(&s.len());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        let ok_first = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if ok_len && ok_chars && ok_first {
            Ok(Username(s))
        } else {
            Err(InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Username {
    type Err = InvalidUsername;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Username::parse(s)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lowercased() {
        assert_eq!(
            Username::parse("  Awa.Camara ").unwrap().as_str(),
            "awa.camara"
        );
    }

    #[test]
    fn bad_usernames_are_refused() {
        for bad in ["", "ab", "a b", "-awa", "awa!", "é_awa", &"x".repeat(33)] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
    }
}
