//! Vehicle identification numbers (49 CFR 565, ISO 3779): shape, check digit, model year,
//! and the manufacturer and country behind the first three characters.

use serde::Serialize;

/// How strictly a VIN is judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// North American rules: the check digit (position 9) must match.
    #[default]
    Strict,
    /// ISO 3779: a VIN from a market without check digits passes with a mismatch.
    Iso,
    /// As typed by people: `I` is read as `1`, `O` and `Q` as `0`, and a check-digit mismatch
    /// does not make the VIN invalid.
    Lenient,
}

/// What a VIN says, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decoded {
    pub vin: String,
    pub valid: bool,
    pub check_digit: CheckDigit,
    pub wmi: Option<String>,
    pub manufacturer: Option<&'static str>,
    pub country: Option<&'static str>,
    pub model_year: Option<u16>,
    pub plant_code: Option<String>,
    pub serial: Option<String>,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckDigit {
    pub expected: Option<char>,
    pub actual: Option<char>,
    pub valid: bool,
}

/// Position weights of the check-digit sum.
const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// Model-year codes (position 10) of 1980–2009; the same codes name 2010–2039.
const YEAR_CODES: &str = "ABCDEFGHJKLMNPRSTVWXY123456789";

/// Decodes `input` (surrounding blanks ignored, any case).
pub fn decode(input: &str, mode: Mode) -> Decoded {
    let mut vin: String = input.trim().to_ascii_uppercase();
    let mut errors = Vec::new();
    if mode == Mode::Lenient {
        vin = vin
            .chars()
            .map(|c| match c {
                'I' => '1',
                'O' | 'Q' => '0',
                c => c,
            })
            .collect();
    }
    let chars: Vec<char> = vin.chars().collect();
    if chars.len() != 17 {
        errors.push(format!("a VIN has 17 characters, not {}", chars.len()));
    }
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, 'I' | 'O' | 'Q') {
            errors.push(format!(
                "position {}: `{c}` is never used in a VIN (I, O and Q look like 1 and 0)",
                i + 1
            ));
        } else if !c.is_ascii_alphanumeric() {
            errors.push(format!(
                "position {}: `{c}` is not a letter or a digit",
                i + 1
            ));
        }
    }
    if !errors.is_empty() {
        return Decoded {
            vin,
            valid: false,
            check_digit: CheckDigit {
                expected: None,
                actual: chars.get(8).copied(),
                valid: false,
            },
            wmi: None,
            manufacturer: None,
            country: None,
            model_year: None,
            plant_code: None,
            serial: None,
            errors,
        };
    }
    let expected = check_digit(&chars);
    let actual = chars[8];
    let check_valid = expected == actual;
    if !check_valid && mode == Mode::Strict {
        errors.push(format!(
            "the check digit (position 9) is `{actual}` but the other characters give `{expected}`"
        ));
    }
    let wmi: String = chars[..3].iter().collect();
    let model_year = model_year(chars[9], chars[6]);
    if model_year.is_none() {
        errors.push(format!(
            "position 10: `{}` is not a model-year code",
            chars[9]
        ));
    }
    Decoded {
        valid: errors.is_empty(),
        check_digit: CheckDigit {
            expected: Some(expected),
            actual: Some(actual),
            valid: check_valid,
        },
        manufacturer: manufacturer(&wmi),
        country: country(chars[0], chars[1]),
        wmi: Some(wmi),
        model_year,
        plant_code: Some(chars[10].to_string()),
        serial: Some(chars[11..].iter().collect()),
        vin,
        errors,
    }
}

/// The value a character stands for in the check-digit sum.
fn value(c: char) -> u32 {
    match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => 0,
    }
}

/// The check digit the other sixteen characters call for: `0`–`9`, or `X` for 10.
fn check_digit(chars: &[char]) -> char {
    let sum: u32 = chars.iter().zip(WEIGHTS).map(|(c, w)| value(*c) * w).sum();
    match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).expect("a digit"),
    }
}

/// The model year: position 10 names a year in a 30-year cycle; for cars, light trucks and
/// MPVs a letter in position 7 puts it in 2010–2039, a digit in 1980–2009.
fn model_year(code: char, seventh: char) -> Option<u16> {
    let index = YEAR_CODES.find(code)? as u16;
    let base = if seventh.is_ascii_digit() { 1980 } else { 2010 };
    Some(base + index)
}

/// The country of the world manufacturer identifier, from its first two characters.
fn country(first: char, second: char) -> Option<&'static str> {
    /// The order of the second character in ISO 3780's ranges.
    const ORDER: &str = "ABCDEFGHJKLMNPRSTUVWXYZ1234567890";
    let at = ORDER.find(second)?;
    let within = |from: char, to: char| {
        let (a, b) = (ORDER.find(from).unwrap_or(0), ORDER.find(to).unwrap_or(0));
        (a..=b).contains(&at)
    };
    Some(match first {
        '1' | '4' | '5' => "United States",
        '7' if within('A', 'E') => "New Zealand",
        '7' => "United States",
        '2' => "Canada",
        '3' if within('A', 'W') => "Mexico",
        'J' => "Japan",
        'K' if within('L', 'R') => "South Korea",
        'L' => "China",
        'M' if within('A', 'E') => "India",
        'M' if within('F', 'K') => "Indonesia",
        'M' if within('L', 'R') => "Thailand",
        'S' if within('A', 'M') => "United Kingdom",
        'S' if within('N', 'T') => "Germany",
        'S' if within('U', 'Z') => "Poland",
        'T' if within('A', 'H') => "Switzerland",
        'T' if within('J', 'P') => "Czech Republic",
        'T' if within('R', 'V') => "Hungary",
        'V' if within('A', 'E') => "Austria",
        'V' if within('F', 'R') => "France",
        'V' if within('S', 'W') => "Spain",
        'W' => "Germany",
        'X' if within('L', 'R') => "Netherlands",
        'X' if within('S', 'W') => "Russia",
        'Y' if within('A', 'E') => "Belgium",
        'Y' if within('F', 'K') => "Finland",
        'Y' if within('S', 'W') => "Sweden",
        'Z' if within('A', 'R') => "Italy",
        '6' if within('A', 'W') => "Australia",
        '8' if within('A', 'E') => "Argentina",
        '9' if within('A', 'E') => "Brazil",
        _ => return None,
    })
}

/// World manufacturer identifiers of the makes sold most in North America.
const WMIS: &[(&str, &str)] = &[
    ("1FA", "Ford"),
    ("1FB", "Ford"),
    ("1FC", "Ford"),
    ("1FD", "Ford"),
    ("1FM", "Ford"),
    ("1FT", "Ford"),
    ("2FA", "Ford"),
    ("2FM", "Ford"),
    ("2FT", "Ford"),
    ("3FA", "Ford"),
    ("3FE", "Ford"),
    ("1ZV", "Ford"),
    ("NM0", "Ford"),
    ("1LN", "Lincoln"),
    ("5LM", "Lincoln"),
    ("2LM", "Lincoln"),
    ("3LN", "Lincoln"),
    ("1ME", "Mercury"),
    ("2ME", "Mercury"),
    ("1G1", "Chevrolet"),
    ("1GC", "Chevrolet"),
    ("1GB", "Chevrolet"),
    ("1GN", "Chevrolet"),
    ("2G1", "Chevrolet"),
    ("2GN", "Chevrolet"),
    ("3G1", "Chevrolet"),
    ("3GC", "Chevrolet"),
    ("3GN", "Chevrolet"),
    ("KL1", "Chevrolet"),
    ("KL7", "Chevrolet"),
    ("1GT", "GMC"),
    ("1GK", "GMC"),
    ("2GT", "GMC"),
    ("2GK", "GMC"),
    ("3GT", "GMC"),
    ("3GK", "GMC"),
    ("1G4", "Buick"),
    ("2G4", "Buick"),
    ("KL4", "Buick"),
    ("LRB", "Buick"),
    ("5GA", "Buick"),
    ("1G6", "Cadillac"),
    ("1GY", "Cadillac"),
    ("LRE", "Cadillac"),
    ("1G2", "Pontiac"),
    ("2G2", "Pontiac"),
    ("1G8", "Saturn"),
    ("5GR", "Hummer"),
    ("1B3", "Dodge"),
    ("2B3", "Dodge"),
    ("1D7", "Dodge"),
    ("2D3", "Dodge"),
    ("3D7", "Dodge"),
    ("1C3", "Chrysler"),
    ("2C3", "Chrysler"),
    ("2A4", "Chrysler"),
    ("2C4", "Chrysler"),
    ("1C4", "Jeep"),
    ("1J4", "Jeep"),
    ("1J8", "Jeep"),
    ("3C4", "Jeep"),
    ("1C6", "Ram"),
    ("3C6", "Ram"),
    ("3C7", "Ram"),
    ("JT2", "Toyota"),
    ("JT3", "Toyota"),
    ("JTD", "Toyota"),
    ("JTE", "Toyota"),
    ("JTM", "Toyota"),
    ("JTN", "Toyota"),
    ("4T1", "Toyota"),
    ("4T3", "Toyota"),
    ("4T4", "Toyota"),
    ("5TD", "Toyota"),
    ("5TF", "Toyota"),
    ("2T1", "Toyota"),
    ("2T3", "Toyota"),
    ("3TM", "Toyota"),
    ("7MU", "Toyota"),
    ("JTH", "Lexus"),
    ("JTJ", "Lexus"),
    ("2T2", "Lexus"),
    ("58A", "Lexus"),
    ("JHM", "Honda"),
    ("1HG", "Honda"),
    ("2HG", "Honda"),
    ("2HK", "Honda"),
    ("5FN", "Honda"),
    ("5J6", "Honda"),
    ("19X", "Honda"),
    ("7FA", "Honda"),
    ("3HG", "Honda"),
    ("JH4", "Acura"),
    ("19U", "Acura"),
    ("5J8", "Acura"),
    ("JN1", "Nissan"),
    ("JN8", "Nissan"),
    ("1N4", "Nissan"),
    ("1N6", "Nissan"),
    ("3N1", "Nissan"),
    ("3N6", "Nissan"),
    ("5N1", "Nissan"),
    ("JNK", "Infiniti"),
    ("JNR", "Infiniti"),
    ("5N3", "Infiniti"),
    ("KMH", "Hyundai"),
    ("KM8", "Hyundai"),
    ("5NP", "Hyundai"),
    ("5NM", "Hyundai"),
    ("KMT", "Genesis"),
    ("KNA", "Kia"),
    ("KND", "Kia"),
    ("5XX", "Kia"),
    ("5XY", "Kia"),
    ("3KP", "Kia"),
    ("JF1", "Subaru"),
    ("JF2", "Subaru"),
    ("4S3", "Subaru"),
    ("4S4", "Subaru"),
    ("JM1", "Mazda"),
    ("JM3", "Mazda"),
    ("3MZ", "Mazda"),
    ("3MV", "Mazda"),
    ("7MM", "Mazda"),
    ("WVW", "Volkswagen"),
    ("WVG", "Volkswagen"),
    ("1VW", "Volkswagen"),
    ("3VW", "Volkswagen"),
    ("3VV", "Volkswagen"),
    ("WAU", "Audi"),
    ("WA1", "Audi"),
    ("WBA", "BMW"),
    ("WBS", "BMW"),
    ("WBX", "BMW"),
    ("5UX", "BMW"),
    ("5YM", "BMW"),
    ("4US", "BMW"),
    ("WMW", "MINI"),
    ("WDB", "Mercedes-Benz"),
    ("WDC", "Mercedes-Benz"),
    ("WDD", "Mercedes-Benz"),
    ("W1K", "Mercedes-Benz"),
    ("W1N", "Mercedes-Benz"),
    ("4JG", "Mercedes-Benz"),
    ("55S", "Mercedes-Benz"),
    ("WP0", "Porsche"),
    ("WP1", "Porsche"),
    ("YV1", "Volvo"),
    ("YV4", "Volvo"),
    ("7JR", "Volvo"),
    ("5YJ", "Tesla"),
    ("7SA", "Tesla"),
    ("LRW", "Tesla"),
    ("JA3", "Mitsubishi"),
    ("JA4", "Mitsubishi"),
    ("4A3", "Mitsubishi"),
    ("4A4", "Mitsubishi"),
    ("ML3", "Mitsubishi"),
    ("SAL", "Land Rover"),
    ("SAJ", "Jaguar"),
    ("ZFA", "Fiat"),
    ("ZAR", "Alfa Romeo"),
    ("ZAM", "Maserati"),
    ("ZFF", "Ferrari"),
    ("ZHW", "Lamborghini"),
    ("SCB", "Bentley"),
    ("SCA", "Rolls-Royce"),
    ("JS2", "Suzuki"),
    ("JS3", "Suzuki"),
    ("2S3", "Suzuki"),
    ("YS3", "Saab"),
    ("JAL", "Isuzu"),
];

fn manufacturer(wmi: &str) -> Option<&'static str> {
    WMIS.iter().find(|(w, _)| *w == wmi).map(|(_, m)| *m)
}

/// How many makes the table covers.
#[cfg(test)]
pub(crate) fn makes() -> usize {
    let mut makes: Vec<&str> = WMIS.iter().map(|(_, m)| *m).collect();
    makes.sort_unstable();
    makes.dedup();
    makes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_vin_decodes_with_its_check_digit_year_and_maker() {
        // The check-digit example of 49 CFR 565 and a Honda Accord.
        let d = decode("1m8gdm9axkp042788", Mode::Strict);
        assert_eq!(d.vin, "1M8GDM9AXKP042788");
        assert!(d.valid, "{:?}", d.errors);
        assert_eq!(d.check_digit.expected, Some('X'));
        assert_eq!(d.model_year, Some(1989), "a digit in position 7: 1980-2009");
        assert_eq!(d.country, Some("United States"));
        assert_eq!(d.plant_code.as_deref(), Some("P"));
        assert_eq!(d.serial.as_deref(), Some("042788"));

        let accord = decode(" 1HGCM82633A004352 ", Mode::Strict);
        assert!(accord.valid, "{:?}", accord.errors);
        assert_eq!(accord.manufacturer, Some("Honda"));
        assert_eq!(accord.wmi.as_deref(), Some("1HG"));
        assert_eq!(accord.model_year, Some(2003));
    }

    #[test]
    fn a_letter_in_position_seven_moves_the_year_into_the_next_cycle() {
        assert_eq!(model_year('A', '5'), Some(1980));
        assert_eq!(model_year('A', 'B'), Some(2010));
        assert_eq!(model_year('R', 'C'), Some(2024));
        assert_eq!(model_year('9', 'C'), Some(2039));
        assert_eq!(model_year('U', 'C'), None);
    }

    #[test]
    fn a_wrong_check_digit_fails_strict_but_passes_iso_and_lenient() {
        let bad = "1HGCM82643A004352";
        let strict = decode(bad, Mode::Strict);
        assert!(!strict.valid);
        assert!(!strict.check_digit.valid);
        assert!(
            strict.errors[0].contains("check digit"),
            "{:?}",
            strict.errors
        );
        for mode in [Mode::Iso, Mode::Lenient] {
            let d = decode(bad, mode);
            assert!(d.valid && !d.check_digit.valid, "{mode:?}");
            assert_eq!(d.manufacturer, Some("Honda"));
        }
    }

    #[test]
    fn shape_errors_are_all_listed() {
        let d = decode("1HGCM8263OA00435", Mode::Strict);
        assert!(!d.valid);
        assert_eq!(d.errors.len(), 2, "{:?}", d.errors);
        assert!(d.errors[0].contains("17 characters, not 16"));
        assert!(d.errors[1].contains("position 10: `O`"));
        assert!(d.model_year.is_none() && d.manufacturer.is_none());
        let typed = decode("1HGCM82633AOO4352", Mode::Lenient);
        assert!(typed.valid, "lenient reads O as 0: {:?}", typed.errors);
        assert_eq!(typed.vin, "1HGCM82633A004352");
        assert!(!decode("1HGCM8263-A004352", Mode::Strict).valid);
    }

    #[test]
    fn countries_follow_the_wmi_ranges() {
        assert_eq!(country('2', 'H'), Some("Canada"));
        assert_eq!(country('3', 'V'), Some("Mexico"));
        assert_eq!(country('K', 'M'), Some("South Korea"));
        assert_eq!(country('W', 'B'), Some("Germany"));
        assert_eq!(country('Y', 'V'), Some("Sweden"));
        assert_eq!(country('S', 'A'), Some("United Kingdom"));
        assert_eq!(country('7', 'S'), Some("United States"));
        assert_eq!(country('K', 'A'), None);
    }

    #[test]
    fn the_table_covers_the_forty_makes_sold_most() {
        assert!(makes() >= 40, "{} makes", makes());
    }
}
