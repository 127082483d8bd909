//! ISO 3166-1 alpha-2 country codes.
//!
//! Only the 249 *officially assigned* codes are accepted. User-assigned codes
//! (`XK` for Kosovo, `AA`, `ZZ`, ...) and exceptionally, transitionally or
//! indeterminately reserved ones (`UK`, `EU`, `SU`, `YU`, `AN`, `CS`, `TP`,
//! ...) are rejected, because a policy naming them could never match a
//! country recorded by an ISO-conforming source.
//!
//! Invariant: a [`Country`] can only be built by [`Country::parse`], so its
//! two bytes are always an assigned, upper-case ASCII code.

use std::fmt;

/// A country as its ISO 3166-1 alpha-2 code; 2 bytes, `Copy`, ordered by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses an officially assigned alpha-2 code, upper case only.
    ///
    /// `"SY"` is Syria; `"sy"`, `"XK"`, `"S"` and `"SYR"` are `None`. Lower
    /// case is rejected rather than folded so that policy text has one
    /// spelling per country.
    pub fn parse(code: &str) -> Option<Country> {
        Country::parse_bytes(code.as_bytes())
    }

    /// [`Country::parse`] for the bytes of a text.
    pub fn parse_bytes(code: &[u8]) -> Option<Country> {
        let bytes: [u8; 2] = code.try_into().ok()?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return None;
        }
        // One bit per code, looked up in one step (case records name many countries).
        let country = Country(bytes);
        ASSIGNED_SET.contains(country).then_some(country)
    }

    /// The code as a string slice, e.g. `"SY"`.
    pub fn as_str(&self) -> &str {
        // Always ASCII by construction; the fallback is unreachable and only
        // spares us an unwrap.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    /// Writes the bare two-letter code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code (upper
/// case only); the same test as [`Country::parse`].
pub fn is_assigned(code: &str) -> bool {
    Country::parse(code).is_some()
}

/// The officially assigned alpha-2 codes, sorted for binary search (about
/// eight comparisons per lookup). Cross-checked against tzdata's
/// `iso3166.tab` and Debian's `iso-codes`; update when ISO assigns or
/// withdraws a code.
// One row per first letter, so a missing or extra code is easy to spot.
#[rustfmt::skip]
static ASSIGNED: [[u8; 2]; 249] = [
    *b"AD", *b"AE", *b"AF", *b"AG", *b"AI", *b"AL", *b"AM", *b"AO", *b"AQ", *b"AR", *b"AS", *b"AT",
    *b"AU", *b"AW", *b"AX", *b"AZ",
    *b"BA", *b"BB", *b"BD", *b"BE", *b"BF", *b"BG", *b"BH", *b"BI", *b"BJ", *b"BL", *b"BM", *b"BN",
    *b"BO", *b"BQ", *b"BR", *b"BS", *b"BT", *b"BV", *b"BW", *b"BY", *b"BZ",
    *b"CA", *b"CC", *b"CD", *b"CF", *b"CG", *b"CH", *b"CI", *b"CK", *b"CL", *b"CM", *b"CN", *b"CO",
    *b"CR", *b"CU", *b"CV", *b"CW", *b"CX", *b"CY", *b"CZ",
    *b"DE", *b"DJ", *b"DK", *b"DM", *b"DO", *b"DZ",
    *b"EC", *b"EE", *b"EG", *b"EH", *b"ER", *b"ES", *b"ET",
    *b"FI", *b"FJ", *b"FK", *b"FM", *b"FO", *b"FR",
    *b"GA", *b"GB", *b"GD", *b"GE", *b"GF", *b"GG", *b"GH", *b"GI", *b"GL", *b"GM", *b"GN", *b"GP",
    *b"GQ", *b"GR", *b"GS", *b"GT", *b"GU", *b"GW", *b"GY",
    *b"HK", *b"HM", *b"HN", *b"HR", *b"HT", *b"HU",
    *b"ID", *b"IE", *b"IL", *b"IM", *b"IN", *b"IO", *b"IQ", *b"IR", *b"IS", *b"IT",
    *b"JE", *b"JM", *b"JO", *b"JP",
    *b"KE", *b"KG", *b"KH", *b"KI", *b"KM", *b"KN", *b"KP", *b"KR", *b"KW", *b"KY", *b"KZ",
    *b"LA", *b"LB", *b"LC", *b"LI", *b"LK", *b"LR", *b"LS", *b"LT", *b"LU", *b"LV", *b"LY",
    *b"MA", *b"MC", *b"MD", *b"ME", *b"MF", *b"MG", *b"MH", *b"MK", *b"ML", *b"MM", *b"MN", *b"MO",
    *b"MP", *b"MQ", *b"MR", *b"MS", *b"MT", *b"MU", *b"MV", *b"MW", *b"MX", *b"MY", *b"MZ",
    *b"NA", *b"NC", *b"NE", *b"NF", *b"NG", *b"NI", *b"NL", *b"NO", *b"NP", *b"NR", *b"NU", *b"NZ",
    *b"OM",
    *b"PA", *b"PE", *b"PF", *b"PG", *b"PH", *b"PK", *b"PL", *b"PM", *b"PN", *b"PR", *b"PS", *b"PT",
    *b"PW", *b"PY",
    *b"QA",
    *b"RE", *b"RO", *b"RS", *b"RU", *b"RW",
    *b"SA", *b"SB", *b"SC", *b"SD", *b"SE", *b"SG", *b"SH", *b"SI", *b"SJ", *b"SK", *b"SL", *b"SM",
    *b"SN", *b"SO", *b"SR", *b"SS", *b"ST", *b"SV", *b"SX", *b"SY", *b"SZ",
    *b"TC", *b"TD", *b"TF", *b"TG", *b"TH", *b"TJ", *b"TK", *b"TL", *b"TM", *b"TN", *b"TO", *b"TR",
    *b"TT", *b"TV", *b"TW", *b"TZ",
    *b"UA", *b"UG", *b"UM", *b"US", *b"UY", *b"UZ",
    *b"VA", *b"VC", *b"VE", *b"VG", *b"VI", *b"VN", *b"VU",
    *b"WF", *b"WS",
    *b"YE", *b"YT",
    *b"ZA", *b"ZM", *b"ZW",
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert_eq!(ASSIGNED.len(), 249);
        assert!(ASSIGNED.is_sorted_by(|a, b| a < b), "sorted, no duplicates");
        assert!(ASSIGNED.iter().flatten().all(u8::is_ascii_uppercase));
        let count = (b'A'..=b'Z')
            .flat_map(|a| (b'A'..=b'Z').map(move |b| [a, b]))
            .filter(|c| is_assigned(std::str::from_utf8(c).unwrap()))
            .count();
        assert_eq!(count, 249);
    }

    #[test]
    fn assigned_codes() {
        for code in [
            "SY", "IQ", "AF", "YE", "SO", "LY", "SS", "PS", "RU", "NO", "UA", "NG", "PK", "SD",
            "CF", "ML", "CD", "ER", "IR", "LB", "TR", "EG", "ET",
            // Newer or easily forgotten assignments.
            "CW", "SX", "BQ", "BL", "MF", "AX", "GG", "JE", "IM", "ME", "RS", "TL",
        ] {
            assert!(is_assigned(code), "{code}");
            let country = Country::parse(code).unwrap();
            assert_eq!(country.as_str(), code);
            assert_eq!(country.to_string(), code);
        }
    }

    #[test]
    fn unassigned_codes() {
        for code in [
            "XK", "UK", "EU", "SU", "YU", "AN", "CS", "TP", "sy", "Sy", "sY", "", "S", "SYR", "ZZ",
            "AA", "S ", " S", "\u{e9}", "1A",
        ] {
            assert!(!is_assigned(code), "{code:?}");
            assert_eq!(Country::parse(code), None, "{code:?}");
        }
    }

    #[test]
    fn ordered_by_code() {
        let af = Country::parse("AF").unwrap();
        let sy = Country::parse("SY").unwrap();
        assert!(af < sy);
        assert_eq!(format!("[{sy:>4}]"), "[  SY]");
    }
}

/// A set of countries: one bit for each of the 676 two-letter codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountrySet([u64; 11]);

/// [`ASSIGNED`] as a set, built at compile time (an index out of bounds here fails the build,
/// never a run).
#[allow(clippy::indexing_slicing)]
static ASSIGNED_SET: CountrySet = {
    let mut words = [0u64; 11];
    let mut i = 0;
    while i < ASSIGNED.len() {
        let [a, b] = ASSIGNED[i];
        let p = (a - b'A') as usize * 26 + (b - b'A') as usize;
        words[p / 64] |= 1 << (p % 64);
        i += 1;
    }
    CountrySet(words)
};

impl CountrySet {
    const fn position(country: Country) -> usize {
        let [a, b] = country.0;
        (a.saturating_sub(b'A')) as usize * 26 + (b.saturating_sub(b'A')) as usize
    }

    /// Adds a country.
    pub fn insert(&mut self, country: Country) {
        let p = Self::position(country);
        if let Some(word) = self.0.get_mut(p / 64) {
            *word |= 1 << (p % 64);
        }
    }

    /// Whether the set holds a country.
    pub fn contains(&self, country: Country) -> bool {
        let p = Self::position(country);
        self.0
            .get(p / 64)
            .is_some_and(|word| word & (1 << (p % 64)) != 0)
    }
}

#[cfg(test)]
mod set_tests {
    use super::*;

    #[test]
    fn a_country_set_holds_exactly_what_was_inserted() {
        let mut set = CountrySet::default();
        for code in ["SY", "IQ", "AF", "ZW", "AD"] {
            if let Some(c) = Country::parse(code) {
                set.insert(c);
            }
        }
        let has = |code: &str| Country::parse(code).is_some_and(|c| set.contains(c));
        assert!(has("SY") && has("ZW") && has("AD"));
        assert!(!has("RU") && !has("LB") && !has("SS"));
    }
}
