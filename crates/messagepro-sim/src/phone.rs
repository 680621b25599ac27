//! Phone number parsing in the three variants of 3.3, on top of `rlibphonenumber`
//! (a Rust port of Google's libphonenumber, the library behind Brick\PhoneNumber).

use rlibphonenumber::{PhoneNumber, PhoneNumberFormat, Region};

/// A parsed number: E.164 text and the upper-case ISO region ("ZZ" when unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub e164: String,
    pub region: String,
}

fn finish(n: &PhoneNumber) -> Parsed {
    let region = n
        .get_region_code()
        .map(|r| r.to_string().to_ascii_uppercase())
        .unwrap_or_else(|| {
            if n.country_code == 55 {
                "BR".into()
            } else {
                "ZZ".into()
            }
        });
    Parsed {
        e164: n.format_as(PhoneNumberFormat::E164).into_owned(),
        region,
    }
}

/// Variant A: parsed with the account's default region; must be valid (invalid Brazilian
/// numbers tolerated when `brazil_ok`).
pub fn variant_a(input: &str, country: &str, brazil_ok: bool) -> Option<Parsed> {
    let region: Option<Region> = country.parse().ok();
    let n = PhoneNumber::parse(input, region).ok()?;
    let p = finish(&n);
    (n.is_valid() || (brazil_ok && p.region == "BR")).then_some(p)
}

/// Variant B: leading `+` stripped, one `+` prepended; must be valid unless the region is BR.
pub fn variant_b(input: &str) -> Option<Parsed> {
    let forced = format!("+{}", input.trim_start_matches('+'));
    let n = PhoneNumber::parse(&forced, None).ok()?;
    let p = finish(&n);
    (n.is_valid() || p.region == "BR").then_some(p)
}

/// Variant C: stored contact numbers, parsed without default region; validity ignored.
pub fn variant_c(input: &str) -> Option<Parsed> {
    PhoneNumber::parse(input, None).ok().map(|n| finish(&n))
}

/// WhatsApp only: Mexican numbers get a `1` after `+52`.
pub fn mexico(p: Parsed) -> Parsed {
    if p.region == "MX" && !p.e164.starts_with("+521") {
        Parsed {
            e164: format!("+521{}", &p.e164[3..]),
            region: p.region,
        }
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants() {
        assert_eq!(
            variant_a("621234567", "GN", false).map(|p| p.e164),
            Some("+224621234567".into())
        );
        assert_eq!(
            variant_b("224621234567").map(|p| p.region),
            Some("GN".into())
        );
        assert_eq!(
            variant_b("+224621234567").map(|p| p.e164),
            Some("+224621234567".into())
        );
        assert!(variant_b("0621234567").is_none());
        assert_eq!(
            mexico(variant_b("+525512345678").unwrap()).e164,
            "+5215512345678"
        );
    }
}
