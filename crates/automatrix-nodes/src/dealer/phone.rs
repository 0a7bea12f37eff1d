//! Phone numbers to E.164: `+` country code and national number, as SMS and dialer APIs want
//! them. National numbers are read in a default country (trunk prefix dropped); international
//! ones by their country code. Lengths are checked per country; North American numbers by the
//! numbering plan's rules.

use serde::Serialize;

/// What a phone number is, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Normalized {
    pub input: String,
    pub valid: bool,
    pub e164: Option<String>,
    pub country: Option<&'static str>,
    pub calling_code: Option<&'static str>,
    pub national_number: Option<String>,
    pub extension: Option<String>,
    pub errors: Vec<String>,
}

/// A country's numbering: ISO 3166 code, calling code, whether national numbers start with a
/// trunk `0` that the international form drops, and the national number's lengths.
struct Plan {
    country: &'static str,
    code: &'static str,
    trunk_zero: bool,
    lengths: (usize, usize),
}

const fn plan(
    country: &'static str,
    code: &'static str,
    trunk_zero: bool,
    min: usize,
    max: usize,
) -> Plan {
    Plan {
        country,
        code,
        trunk_zero,
        lengths: (min, max),
    }
}

/// The countries whose numbers are read; `+1` is the North American plan.
const PLANS: &[Plan] = &[
    plan("US", "1", false, 10, 10),
    plan("CA", "1", false, 10, 10),
    plan("MX", "52", false, 10, 10),
    plan("GB", "44", true, 9, 10),
    plan("IE", "353", true, 7, 9),
    plan("DE", "49", true, 6, 13),
    plan("AT", "43", true, 4, 13),
    plan("CH", "41", true, 9, 9),
    plan("FR", "33", true, 9, 9),
    plan("BE", "32", true, 8, 9),
    plan("NL", "31", true, 9, 9),
    plan("ES", "34", false, 9, 9),
    plan("PT", "351", false, 9, 9),
    plan("IT", "39", false, 6, 11),
    plan("SE", "46", true, 7, 13),
    plan("NO", "47", false, 8, 8),
    plan("DK", "45", false, 8, 8),
    plan("FI", "358", true, 5, 12),
    plan("PL", "48", false, 9, 9),
    plan("AU", "61", true, 9, 9),
    plan("NZ", "64", true, 8, 10),
    plan("JP", "81", true, 9, 10),
    plan("KR", "82", true, 8, 10),
    plan("CN", "86", true, 10, 11),
    plan("IN", "91", true, 10, 10),
    plan("PH", "63", true, 10, 10),
    plan("BR", "55", true, 10, 11),
    plan("AR", "54", true, 10, 10),
    plan("CO", "57", false, 10, 10),
    plan("CL", "56", false, 9, 9),
    plan("ZA", "27", true, 9, 9),
    plan("AE", "971", true, 8, 9),
];

/// Canadian area codes: the rest of `+1` is read as the United States.
const CANADA: [u16; 56] = [
    204, 226, 236, 249, 250, 263, 289, 306, 343, 354, 365, 367, 368, 382, 387, 403, 416, 418, 428,
    431, 437, 438, 450, 460, 468, 474, 506, 514, 519, 548, 579, 581, 584, 587, 600, 604, 613, 639,
    647, 672, 683, 705, 709, 742, 753, 778, 780, 782, 807, 819, 825, 867, 873, 879, 902, 905,
];

/// The ISO 3166 codes a default country may be.
pub fn countries() -> impl Iterator<Item = &'static str> {
    PLANS.iter().map(|p| p.country)
}

/// Normalizes `input`, reading a national number as one of `default_country`.
pub fn normalize(input: &str, default_country: &str) -> Normalized {
    let mut out = Normalized {
        input: input.to_owned(),
        valid: false,
        e164: None,
        country: None,
        calling_code: None,
        national_number: None,
        extension: None,
        errors: Vec::new(),
    };
    let (number, extension) = split_extension(input.trim());
    out.extension = extension;
    if let Some(bad) = number
        .chars()
        .find(|c| !(c.is_ascii_digit() || " ().-/+".contains(*c)))
    {
        out.errors
            .push(format!("`{bad}` does not belong in a phone number"));
        return out;
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let international = number.trim_start().starts_with('+');
    let read = if international {
        international_number(&digits)
    } else if let Some(rest) = digits.strip_prefix("011").filter(|_| nanp(default_country)) {
        international_number(rest)
    } else if let Some(rest) = digits.strip_prefix("00").filter(|_| !nanp(default_country)) {
        international_number(rest)
    } else {
        national_number(&digits, default_country)
    };
    let (plan, national) = match read {
        Ok(found) => found,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let plan = if plan.code == "1" {
        nanp_country(&national)
    } else {
        plan
    };
    if let Err(e) = check(plan, &national) {
        out.errors.push(e);
        return out;
    }
    out.valid = true;
    out.e164 = Some(format!("+{}{national}", plan.code));
    out.country = Some(plan.country);
    out.calling_code = Some(plan.code);
    out.national_number = Some(national);
    out
}

fn nanp(country: &str) -> bool {
    matches!(country, "US" | "CA")
}

/// `x123`, `ext. 123`, `ext 123` or `#123` at the end.
fn split_extension(s: &str) -> (&str, Option<String>) {
    let lower = s.to_ascii_lowercase();
    for marker in ["extension", "ext.", "ext", "x", "#"] {
        if let Some(at) = lower.rfind(marker) {
            let ext = s[at + marker.len()..].trim();
            if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_digit()) {
                return (s[..at].trim_end(), Some(ext.to_owned()));
            }
        }
    }
    (s, None)
}

/// A number after its `+` (or international prefix): the country code is the one of the
/// plans that starts it.
fn international_number(digits: &str) -> Result<(&'static Plan, String), String> {
    PLANS
        .iter()
        .find(|p| digits.starts_with(p.code))
        .map(|p| (p, digits[p.code.len()..].to_owned()))
        .ok_or_else(|| match digits.len() {
            0 => "no digits".to_owned(),
            _ => format!("country code of `+{digits}` is not one this node knows"),
        })
}

fn national_number(digits: &str, country: &str) -> Result<(&'static Plan, String), String> {
    let plan = PLANS
        .iter()
        .find(|p| p.country == country)
        .ok_or_else(|| format!("`{country}` is not a country this node knows"))?;
    let national = if plan.code == "1" && digits.len() == 11 {
        digits.strip_prefix('1').unwrap_or(digits)
    } else if plan.trunk_zero {
        digits.strip_prefix('0').unwrap_or(digits)
    } else {
        digits
    };
    Ok((plan, national.to_owned()))
}

/// Canada or the United States, by area code.
fn nanp_country(national: &str) -> &'static Plan {
    let area: Option<u16> = national.get(..3).and_then(|a| a.parse().ok());
    let country = if area.is_some_and(|a| CANADA.contains(&a)) {
        "CA"
    } else {
        "US"
    };
    PLANS
        .iter()
        .find(|p| p.country == country)
        .expect("both plans exist")
}

fn check(plan: &Plan, national: &str) -> Result<(), String> {
    let (min, max) = plan.lengths;
    if !(min..=max).contains(&national.len()) {
        let want = if min == max {
            min.to_string()
        } else {
            format!("{min} to {max}")
        };
        return Err(format!(
            "a {} number has {want} digits after +{}, not {}",
            plan.country,
            plan.code,
            national.len()
        ));
    }
    if plan.code == "1" {
        let b = national.as_bytes();
        if b[0] < b'2' || b[3] < b'2' {
            return Err("a North American area code and exchange start with 2 to 9".to_owned());
        }
        if b[1] == b'1' && b[2] == b'1' {
            return Err(format!(
                "{} is a service code, not an area code",
                &national[..3]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str, country: &str) -> Option<String> {
        normalize(input, country).e164
    }

    #[test]
    fn north_american_numbers_in_every_usual_spelling() {
        for spelled in [
            "(312) 555-0142",
            "312.555.0142",
            "1-312-555-0142",
            "+1 312 555 0142",
            "011 1 312 555 0142",
        ] {
            assert_eq!(
                e164(spelled, "US").as_deref(),
                Some("+13125550142"),
                "{spelled}"
            );
        }
        let toronto = normalize("416-555-0199", "US");
        assert_eq!(
            (toronto.country, toronto.e164.as_deref()),
            (Some("CA"), Some("+14165550199"))
        );
        let ext = normalize("312-555-0142 ext. 27", "US");
        assert_eq!(
            (ext.e164.as_deref(), ext.extension.as_deref()),
            (Some("+13125550142"), Some("27"))
        );
        assert_eq!(
            normalize("312-555-0142x9", "US").extension.as_deref(),
            Some("9")
        );
    }

    #[test]
    fn national_numbers_of_other_countries_drop_their_trunk_zero() {
        assert_eq!(
            e164("020 7946 0018", "GB").as_deref(),
            Some("+442079460018")
        );
        assert_eq!(e164("030 901820", "DE").as_deref(), Some("+4930901820"));
        assert_eq!(
            e164("06 12 34 56 78", "FR").as_deref(),
            Some("+33612345678")
        );
        assert_eq!(
            e164("0049 30 901820", "GB").as_deref(),
            Some("+4930901820"),
            "00 dials out"
        );
        assert_eq!(
            e164("+52 55 1234 5678", "US").as_deref(),
            Some("+525512345678")
        );
        let italy = normalize("06 1234 5678", "IT");
        assert_eq!(
            italy.e164.as_deref(),
            Some("+390612345678"),
            "Italy keeps its 0"
        );
    }

    #[test]
    fn bad_numbers_say_why() {
        let short = normalize("555-0142", "US");
        assert!(!short.valid && short.e164.is_none());
        assert!(
            short.errors[0].contains("10 digits after +1, not 7"),
            "{:?}",
            short.errors
        );
        assert!(normalize("(112) 555-0142", "US").errors[0].contains("2 to 9"));
        assert!(normalize("(911) 555-0142", "US").errors[0].contains("service code"));
        assert!(normalize("call me maybe", "US").errors[0].contains("does not belong"));
        assert!(normalize("+999 1234", "US").errors[0].contains("country code"));
        assert!(normalize("0612345678", "XX").errors[0].contains("`XX`"));
        assert!(!normalize("", "US").valid);
    }
}
