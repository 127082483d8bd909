//! The fast path of [`super::parse_json_record`]: a schema-driven byte scanner for the records
//! that make up nearly every batch.
//!
//! It reads only a subset of JSON — objects, arrays, strings without escapes or control
//! characters, `true`, `false`, `null`, and plain integers (`-`, digits) where the schema wants an
//! int — and only records that fully match the schema. On anything else it gives up (`None`),
//! without saying why, and the serde path reads the record from scratch: that path alone
//! decides errors, their messages and their precedence, so this one needs to agree with it
//! only on what a valid record reads as. Every check here mirrors one of the serde path's, for
//! its successful outcome.

use smallvec::SmallVec;

use super::FieldSet;
use crate::cases::{Case, Shape};
use crate::check::types::{FieldDef, RecordId, RecordType, Schema, Ty};
use crate::compile::Value;
use crate::country::Country;
use crate::dates::parse_date_bytes;
use indexmap::IndexMap;

/// serde_json refuses the 128th level of nesting; give up well before, so that no record this
/// path accepts is one serde_json would refuse.
const MAX_DEPTH: usize = 100;

/// Reads a record that needs nothing beyond the common subset of JSON and matches the schema;
/// `None` for any other text, which the serde path must then read.
///
/// It reads bytes, not text: a record it accepts is UTF-8 text, since every byte it accepts
/// outside a string is ASCII, dates, countries and enum values are compared as ASCII, and a
/// text is checked (the check of the whole line before was 3% of a run). Any other record must
/// be checked by the caller.
pub(super) fn read_well_formed(
    bytes: &[u8],
    line: usize,
    shape: Shape<'_>,
    spare: &mut Option<Box<[Value]>>,
) -> Option<Case> {
    let size = shape.layout.case_size();
    let mut slots = match spare.take() {
        Some(slots) if slots.len() == size => {
            let mut slots = slots.into_vec();
            slots.fill_with(|| Value::Absent);
            slots
        }
        _ => absent_slots(size),
    };
    let mut scanner = Scanner {
        bytes,
        pos: 0,
        depth: 0,
        shape,
        last_text: "",
        id: None,
    };
    scanner.read_record(Schema::ROOT, &mut slots, 0)?;
    // As `Deserializer::end`: only whitespace may follow.
    scanner.skip_whitespace();
    if scanner.pos != scanner.bytes.len() {
        return None;
    }
    Some(Case {
        line,
        id: Box::from(scanner.id.unwrap_or_default()),
        slots: slots.into_boxed_slice(),
    })
}

/// What a value may be beyond its type: they apply to a field's own value only.
#[derive(Clone, Copy)]
struct Rules {
    /// `null` reads as absent (otherwise it is an error).
    optional: bool,
    /// A text's length in characters.
    text_length: Option<(usize, usize)>,
}

impl Rules {
    fn of(field: &FieldDef) -> Rules {
        Rules {
            optional: field.optional,
            text_length: field.text_length,
        }
    }

    /// A list element is never optional, and a list's text length limit (if any) is not its
    /// elements'.
    const ELEMENT: Rules = Rules {
        optional: false,
        text_length: None,
    };
}

struct Scanner<'t, 's> {
    bytes: &'t [u8],
    pos: usize,
    /// Open objects and arrays, as serde_json counts them for its recursion limit.
    depth: usize,
    shape: Shape<'s>,
    /// The text of the last `Value::Text` made, without copying it back.
    last_text: &'t str,
    /// The case's id, by the serde path's rule: the text of the root record's `id` field.
    id: Option<&'t str>,
}

impl<'t> Scanner<'t, '_> {
    /// JSON's insignificant whitespace, exactly the four bytes serde_json skips.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte that is not whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    /// Consumes the next byte that is not whitespace.
    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next_byte()? == byte).then_some(())
    }

    /// Consumes `[` or `{`.
    fn open(&mut self, byte: u8) -> Option<()> {
        self.expect(byte)?;
        self.depth += 1;
        (self.depth < MAX_DEPTH).then_some(())
    }

    /// Consumes the closing `]` or `}` of an empty array or object, if it is next.
    fn close_if_empty(&mut self, byte: u8) -> Option<bool> {
        if self.peek()? == byte {
            self.pos += 1;
            self.depth -= 1;
            return Some(true);
        }
        Some(false)
    }

    /// After an element: `,` (true: another follows) or the closing byte (false).
    fn separator(&mut self, close: u8) -> Option<bool> {
        match self.next_byte()? {
            b',' => Some(true),
            byte if byte == close => {
                self.depth -= 1;
                Some(false)
            }
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// The bytes of a string with no escape and no control character, borrowed from the
    /// record, and whether they are all ASCII.
    fn string(&mut self) -> Option<(&'t [u8], bool)> {
        self.expect(b'"')?;
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        let (length, ascii) = plain_run(rest);
        // The run must end at the closing quote: an escape needs decoding, and a control
        // character (or the end of the text) is an error for serde_json.
        if rest.get(length) != Some(&b'"') {
            return None;
        }
        let end = start + length;
        self.pos = end + 1;
        Some((self.bytes.get(start..end)?, ascii))
    }

    /// The key next if it is the field at `expected`, written as it is (most records name their
    /// fields in the schema's order): then it is consumed without reading it as a string.
    fn expected_key<'f>(
        &mut self,
        record: &'f RecordType,
        expected: usize,
    ) -> Option<(usize, &'f FieldDef)> {
        let (_, field) = record.fields.get_index(expected)?;
        let key = record.json_keys.get(expected)?.as_deref()?;
        self.skip_whitespace();
        let end = self.pos + key.len();
        if !same_bytes(self.bytes.get(self.pos..end)?, key) {
            return None;
        }
        self.pos = end;
        Some((expected, field))
    }

    /// Reads an object of record type `record` into `slots[start..]`.
    fn read_record(&mut self, record: RecordId, slots: &mut [Value], start: usize) -> Option<()> {
        let record_type = self.shape.schema.record(record)?;
        let fields = &record_type.fields;
        let field_slots = self.shape.layout.fields.get(record)?;
        let mut seen = FieldSet::new(fields.len());
        self.open(b'{')?;
        if !self.close_if_empty(b'}')? {
            // Writers keep the schema's order, so the field after the last one is tried first.
            let mut expected = 0;
            loop {
                let (index, field) = match self.expected_key(record_type, expected) {
                    Some(found) => found,
                    None => {
                        let (key, _) = self.string()?;
                        // An unknown key is an error, or in an open record one more key to
                        // check for duplicates: either way the serde path's business.
                        field_named(fields, key, expected)?
                    }
                };
                self.expect(b':')?;
                expected = index + 1;
                if !seen.insert(index) {
                    return None;
                }
                let slot = start + *field_slots.get(index)?;
                // A slot is written once; a second write would be a bug, not a record.
                if !matches!(slots.get(slot)?, Value::Absent) {
                    return None;
                }
                if let Ty::Record(inner) = &field.ty {
                    if self.peek()? == b'{' {
                        self.read_record(*inner, slots, slot + 1)?;
                        write(slots.get_mut(slot)?, Value::Present);
                    } else {
                        self.read_value_into(&field.ty, Rules::of(field), slots.get_mut(slot)?)?;
                    }
                } else {
                    self.read_value_into(&field.ty, Rules::of(field), slots.get_mut(slot)?)?;
                }
                if record == Schema::ROOT
                    && field.name == "id"
                    && matches!(slots.get(slot), Some(Value::Text(_)))
                {
                    self.id = Some(self.last_text);
                }
                if !self.separator(b'}')? {
                    break;
                }
            }
        }
        let all_required_seen = fields
            .values()
            .enumerate()
            .all(|(index, field)| field.optional || seen.contains(index));
        all_required_seen.then_some(())
    }

    /// Reads a value of type `ty` (not a record: see [`Self::read_record`]) into `target`,
    /// which is absent. The value is built where it goes: built on the stack and copied, its
    /// bytes were read back before they had landed, a stall that cost about 4% of a run.
    #[inline(always)]
    fn read_value_into(&mut self, ty: &Ty, rules: Rules, target: &mut Value) -> Option<()> {
        match (self.peek()?, ty) {
            // Absent already.
            (b'n', _) => {
                self.literal(b"null")?;
                rules.optional.then_some(())
            }
            (b't', Ty::Bool) => {
                self.literal(b"true")?;
                write(target, Value::Bool(true));
                Some(())
            }
            (b'f', Ty::Bool) => {
                self.literal(b"false")?;
                write(target, Value::Bool(false));
                Some(())
            }
            (b'-' | b'0'..=b'9', Ty::Int(range)) => {
                let value = self.integer()?;
                let in_range = range.lo <= i128::from(value) && i128::from(value) <= range.hi;
                in_range.then(|| write(target, Value::Int(value)))
            }
            (b'"', _) => {
                let (string, ascii) = self.string()?;
                self.scalar_into(ty, string, ascii, rules.text_length, target)
            }
            (b'[', Ty::List(element)) => {
                let list = self.read_list(element)?;
                write(target, list);
                Some(())
            }
            _ => None,
        }
    }

    /// A string's bytes as a value of `ty` in `target`, if they are a valid one. Only a text
    /// may hold bytes that are not ASCII: dates, countries and enum values are ASCII, and
    /// compared as bytes.
    #[inline(always)]
    fn scalar_into(
        &mut self,
        ty: &Ty,
        string: &'t [u8],
        ascii: bool,
        text_length: Option<(usize, usize)>,
        target: &mut Value,
    ) -> Option<()> {
        match ty {
            Ty::Text => {
                let text = std::str::from_utf8(string).ok()?;
                if let Some((lo, hi)) = text_length {
                    let length = if ascii {
                        text.len()
                    } else {
                        text.chars().count()
                    };
                    if length < lo || length > hi {
                        return None;
                    }
                }
                self.last_text = text;
                write(target, Value::Text(Box::from(text)));
            }
            Ty::Date => write(target, Value::Date(parse_date_bytes(string)?)),
            Ty::Country => write(target, Value::Country(Country::parse_bytes(string)?)),
            Ty::Enum(id) => {
                let values = &self.shape.schema.enum_type(*id)?.values;
                let index = values
                    .iter()
                    .position(|v| same_bytes(v.as_bytes(), string))?;
                write(target, Value::Enum(u32::try_from(index).ok()?));
            }
            _ => return None,
        }
        Some(())
    }

    /// A JSON integer: `-`, then `0` or digits not starting with `0`. Anything longer than
    /// 18 digits is left to the serde path, so the sum cannot overflow.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(&byte) = self.bytes.get(self.pos) {
            if !byte.is_ascii_digit() {
                break;
            }
            if self.pos - start == 18 {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
            self.pos += 1;
        }
        let digits = self.pos - start;
        // serde_json refuses a leading zero; `-` alone is no number.
        if digits == 0 || (digits > 1 && self.bytes.get(start) == Some(&b'0')) {
            return None;
        }
        Some(if negative { -value } else { value })
    }

    /// Reads a list whose elements are of type `element`.
    fn read_list(&mut self, element: &Ty) -> Option<Value> {
        self.open(b'[')?;
        let mut items: SmallVec<[Value; 4]> = SmallVec::new();
        if !self.close_if_empty(b']')? {
            loop {
                let item = match element {
                    // A record element has slots of its own, laid out by its record type.
                    Ty::Record(record) => {
                        if self.peek()? != b'{' {
                            return None;
                        }
                        let size = self.shape.layout.sizes.get(*record).copied().unwrap_or(0);
                        let mut slots = absent_slots(size);
                        self.read_record(*record, &mut slots, 0)?;
                        Value::Record(slots.into_boxed_slice())
                    }
                    _ => {
                        let mut item = Value::Absent;
                        self.read_value_into(element, Rules::ELEMENT, &mut item)?;
                        item
                    }
                };
                items.push(item);
                if !self.separator(b']')? {
                    break;
                }
            }
        }
        // Moved to a vector of its exact length: one allocation, none to shrink (collecting
        // the small vector's iterator allocated more, then shrank it in a `realloc`).
        let mut list = Vec::with_capacity(items.len());
        list.extend(items);
        Some(Value::List(list.into_boxed_slice()))
    }
}

/// Whether two short byte strings are equal, eight bytes at a time: a call to `memcmp` for
/// each key and enum value of each record cost more than the comparison.
#[inline(always)]
fn same_bytes(mut a: &[u8], mut b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    while let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        if x != y {
            return false;
        }
        a = a.get(8..).unwrap_or_default();
        b = b.get(8..).unwrap_or_default();
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Writes a value into an absent slot: nothing to drop, so no drop glue (a plain assignment
/// would call it each time).
#[inline(always)]
fn write(target: &mut Value, value: Value) {
    std::mem::forget(std::mem::replace(target, value));
}

/// `size` absent slots. Built one by one: `vec![Value::Absent; size]` clones a `Value` for each,
/// which costs several times as much.
fn absent_slots(size: usize) -> Vec<Value> {
    (0..size).map(|_| Value::Absent).collect()
}

/// How many bytes at the start of `bytes` may stand in a string as they are (none is `"`, `\\`
/// or a control character), and whether they are all ASCII.
fn plain_run(bytes: &[u8]) -> (usize, bool) {
    // Eight bytes at a time: a byte-wise search costs several instructions a byte, and the
    // strings of a record are most of its bytes.
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * b' ' as u64;
    let mut rest = bytes;
    // The high bits of the bytes passed: any is a byte that is not ASCII.
    let mut high = 0;
    while let Some(chunk) = rest.first_chunk::<8>() {
        let word = u64::from_le_bytes(*chunk);
        // The high bit of each byte that is zero (after the xor) or below a space; a false hit
        // can only follow a true one, so the lowest hit is exact.
        let zero = |w: u64| w.wrapping_sub(ONES) & !w;
        let hits =
            (zero(word ^ QUOTES) | zero(word ^ BACKSLASHES) | (word.wrapping_sub(SPACES) & !word))
                & HIGHS;
        if hits != 0 {
            // Little-endian: the first byte is the lowest; the bits below the lowest hit are
            // those of the bytes before it.
            let before = (hits & hits.wrapping_neg()).wrapping_sub(1);
            high |= word & HIGHS & before;
            let length = bytes.len() - rest.len() + (hits.trailing_zeros() / 8) as usize;
            return (length, high == 0);
        }
        high |= word & HIGHS;
        rest = rest.get(8..).unwrap_or_default();
    }
    let tail = rest
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
        .unwrap_or(rest.len());
    let ascii = high == 0 && rest.get(..tail).is_some_and(<[u8]>::is_ascii);
    (bytes.len() - rest.len() + tail, ascii)
}

/// The field named `key` and its index, trying the one at `expected` first.
fn field_named<'f>(
    fields: &'f IndexMap<String, FieldDef>,
    key: &[u8],
    expected: usize,
) -> Option<(usize, &'f FieldDef)> {
    if let Some((_, field)) = fields.get_index(expected) {
        if field.name.as_bytes() == key {
            return Some((expected, field));
        }
    }
    fields
        .values()
        .enumerate()
        .find(|(_, field)| field.name.as_bytes() == key)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use super::{plain_run, read_well_formed, same_bytes};
    use crate::cases::json::read_with_serde;
    use crate::compile::Value;
    use crate::engine::Engine;

    fn engine(name: &'static str) -> &'static Engine {
        static STORSKOG: OnceLock<Engine> = OnceLock::new();
        static VOLUNTARY: OnceLock<Engine> = OnceLock::new();
        let cell = if name == "storskog" {
            &STORSKOG
        } else {
            &VOLUNTARY
        };
        cell.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("policies")
                .join(name);
            Engine::load(&path).expect("the policy loads")
        })
    }

    const STORSKOG: &str = r#"{"id":"SK-1","nationality":"SY","entry_date":"2015-10-03","travel":{"origin":"SY","route":["SY","RU"],"direct_from_war_zone":true},"russian_residence":{"status":"permanent","since":"2011-08-18"},"special_connection":false,"decision_date":"2016-02-07"}"#;

    const VOLUNTARY: &str = r#"{"id":"V-1","nationality":"AL","return_country":"AL","household":{"adults":ADULTS,"children":CHILDREN},"claim_status":"pending","application_date":"2015-10-14","previous_application":false,"visa_exempt":true,"convicted":false,"dublin":false}"#;

    /// The fast path's reading, after checking it against the serde path's.
    fn fast(policy: &'static str, text: &str) -> Option<Vec<Value>> {
        let shape = engine(policy).shape();
        let case = read_well_formed(text.as_bytes(), 3, shape, &mut None)?;
        assert_eq!(
            Ok(&case),
            read_with_serde(text, 3, shape).as_ref(),
            "{text}"
        );
        Some(case.slots.into_vec())
    }

    fn storskog(from: &str, to: &str) -> Option<Vec<Value>> {
        assert!(STORSKOG.contains(from), "{from}");
        fast("storskog", &STORSKOG.replacen(from, to, 1))
    }

    fn household(adults: &str, children: &str) -> Option<Vec<Value>> {
        let text = VOLUNTARY
            .replace("ADULTS", adults)
            .replace("CHILDREN", children);
        fast("voluntary", &text)
    }

    #[test]
    fn a_plain_record_is_read_with_its_id() {
        let shape = engine("storskog").shape();
        let case = read_well_formed(STORSKOG.as_bytes(), 3, shape, &mut None).expect("read");
        assert_eq!(&*case.id, "SK-1");
        assert_eq!(case.line, 3);
        assert!(fast("storskog", STORSKOG).is_some());
        assert!(fast("storskog", &format!(" \t\r\n{STORSKOG} \n\r\t")).is_some());
        assert!(storskog(":", " : ").is_some());
        assert!(storskog(",", " ,\n").is_some());
    }

    #[test]
    fn null_is_absent_for_an_optional_field_only() {
        let read = storskog(
            r#""special_connection""#,
            r#""visa":null,"special_connection""#,
        );
        assert!(read.is_some());
        assert!(
            storskog(
                r#""special_connection":false"#,
                r#""special_connection":null"#
            )
            .is_none()
        );
        assert!(storskog(r#"["SY","RU"]"#, r#"["SY",null]"#).is_none());
        assert!(storskog(r#""since":"2011-08-18""#, r#""since":null"#).is_none());
    }

    #[test]
    fn lists_are_read_whole() {
        let empty = storskog(r#"["SY","RU"]"#, "[ ]").expect("an empty list");
        assert!(empty.contains(&Value::List(Box::new([]))));
        assert!(storskog(r#"["SY","RU"]"#, r#"["SY","RU",]"#).is_none());
        assert!(storskog(r#"["SY","RU"]"#, r#"[["SY"]]"#).is_none());
        assert!(storskog(r#"["SY","RU"]"#, r#"[{"a":1}]"#).is_none());
        assert!(storskog(r#"["SY","RU"]"#, r#"["SY""RU"]"#).is_none());
    }

    #[test]
    fn anything_needing_a_closer_look_is_left_to_the_serde_path() {
        for (from, to) in [
            (r#""SK-1""#, r#""SK-\u0031""#),
            (r#""SK-1""#, r#""SK-\"1""#),
            (r#""SK-1""#, "\"SK-\u{1}1\""),
            (r#""SK-1""#, r#""""#),
            (r#""id""#, r#""i\u0064""#),
            (r#""SY""#, r#""sy""#),
            (r#""2015-10-03""#, r#""2015-02-29""#),
            (r#""permanent""#, r#""Permanent""#),
            (r#""special_connection":false,"#, ""),
            (
                r#""special_connection""#,
                r#""extra":1,"special_connection""#,
            ),
            (
                r#""special_connection""#,
                r#""id":"SK-2","special_connection""#,
            ),
            ("true", "1"),
            ("true", "tru"),
            ("false", "falsey"),
            ("}", "},"),
        ] {
            assert!(storskog(from, to).is_none(), "{from} -> {to}");
        }
        for tail in ["x", ",", "}", "{}", "\u{a0}", "\u{c}"] {
            assert!(
                fast("storskog", &format!("{STORSKOG}{tail}")).is_none(),
                "{tail}"
            );
        }
        for cut in 0..STORSKOG.len() {
            assert!(fast("storskog", &STORSKOG[..cut]).is_none(), "{cut}");
        }
        assert!(fast("storskog", "[]").is_none());
        assert!(fast("storskog", "").is_none());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_never_read() {
        let shape = engine("storskog").shape();
        let bad: [&[u8]; 5] = [
            b"\xff",
            b"\xc3",
            b"\xc0\x80",
            b"\xed\xa0\x80",
            b"a\xf4\x90\x80\x80",
        ];
        for bytes in bad {
            // In the id (a text), in an enum value, in a key, and outside any string.
            for (from, to) in [
                ("SK-1", ["SK-".as_bytes(), bytes].concat()),
                ("permanent", ["perm".as_bytes(), bytes].concat()),
                ("\"since\"", ["\"since".as_bytes(), bytes, b"\""].concat()),
                (",\"decision_date", [bytes, b",\"decision_date"].concat()),
            ] {
                let at = STORSKOG.find(from).expect("in the record");
                let record = [
                    &STORSKOG.as_bytes()[..at],
                    &to,
                    &STORSKOG.as_bytes()[at + from.len()..],
                ]
                .concat();
                assert!(
                    read_well_formed(&record, 3, shape, &mut None).is_none(),
                    "{record:?}"
                );
                assert!(
                    crate::cases::parse_json_bytes(&record, 3, shape).is_err(),
                    "{record:?}"
                );
            }
        }
        let accented = STORSKOG.replacen("SK-1", "SK-é", 1);
        assert_eq!(
            crate::cases::parse_json_bytes(accented.as_bytes(), 3, shape),
            Ok(read_with_serde(&accented, 3, shape))
        );
        assert!(read_well_formed(accented.as_bytes(), 3, shape, &mut None).is_some());
    }

    #[test]
    fn an_id_is_counted_in_characters() {
        let at_limit = "é".repeat(64);
        assert!(storskog("SK-1", &at_limit).is_some());
        assert!(storskog("SK-1", &format!("{at_limit}x")).is_none());
    }

    #[test]
    fn ints_are_plain_in_range_and_short() {
        let children = |text: &str| household("1", text);
        assert!(children("0").expect("0").contains(&Value::Int(0)));
        assert!(children("-0").expect("-0").contains(&Value::Int(0)));
        assert!(children("20").expect("20").contains(&Value::Int(20)));
        for text in [
            "21",
            "-1",
            "01",
            "00",
            "-",
            "1.0",
            "1e1",
            "1E1",
            "+1",
            "\"1\"",
            "true",
            "null",
            "99999999999999999999",
            "000000000000000000001",
        ] {
            assert!(children(text).is_none(), "{text}");
        }
        assert!(household("0", "0").is_none());
        assert!(household("1", "2").expect("ints").contains(&Value::Int(2)));
    }

    #[test]
    fn a_plain_run_stops_at_the_first_quote_backslash_or_control_character() {
        // The run, and whether its bytes (not those after it) are ASCII, byte by byte.
        let expected = |bytes: &[u8]| {
            let run = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len());
            (run, bytes[..run].is_ascii())
        };
        let stops = [b'"', b'\\', 0x00, 0x01, 0x1f];
        let passes = [b'a', b' ', 0x7f, 0x80, 0xc3, 0xff, b'!', b'#', b'[', b']'];
        for len in 0..20 {
            for &pass in &passes {
                let run = vec![pass; len];
                assert_eq!(plain_run(&run), (len, len == 0 || pass < 0x80));
                for &stop in &stops {
                    for at in 0..len {
                        let mut bytes = run.clone();
                        bytes[at] = stop;
                        assert_eq!(plain_run(&bytes).0, at, "{bytes:?}");
                        assert_eq!(plain_run(&bytes), expected(&bytes), "{bytes:?}");
                        // A byte that makes the word arithmetic borrow, or one that is not
                        // ASCII, after the stop; one that is not ASCII before it.
                        for other in 0..len {
                            for byte in [0x00, 0xc3] {
                                let mut bytes = bytes.clone();
                                if other != at {
                                    bytes[other] = byte;
                                }
                                assert_eq!(plain_run(&bytes), expected(&bytes), "{bytes:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn same_bytes_compares_every_byte_at_every_length() {
        for length in 0..20usize {
            let a: Vec<u8> = (0..length as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{length}");
            assert!(!same_bytes(&a, &a[..length.saturating_sub(1)]) || length == 0);
            for at in 0..length {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!same_bytes(&a, &b), "{length} at {at}");
            }
        }
    }
}
