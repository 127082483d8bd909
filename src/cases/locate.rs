//! Where a field is in the text of a JSON record, for diagnostics that point into a batch.
//!
//! A small scanner, not a parser: it walks the record's objects and arrays by the path
//! (`visa.type`, `travel.route[2]`) and returns the byte span of the value (or, for a field that
//! is missing, of the closest enclosing member that is there).

/// The byte span of the value at `path` (dotted, with `[n]` for list positions), or of its
/// closest enclosing member when the path is not there.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = skip_ws(bytes, 0);
    let mut found: Option<(usize, usize)> = None;
    for segment in path.split('.') {
        let (name, indices) = split_indices(segment);
        if !name.is_empty() {
            let Some((key_start, value_start)) = member(bytes, start, name) else {
                return found;
            };
            let end = value_end(bytes, value_start)?;
            found = Some((key_start, end));
            start = value_start;
        }
        for index in indices {
            let Some(element) = element(bytes, start, index) else {
                return found;
            };
            let end = value_end(bytes, element)?;
            found = Some((element, end));
            start = element;
        }
    }
    found
}

/// `route[2][0]` → ("route", [2, 0]).
fn split_indices(segment: &str) -> (&str, Vec<usize>) {
    let name_end = segment.find('[').unwrap_or(segment.len());
    let name = segment.get(..name_end).unwrap_or(segment);
    let indices = segment
        .get(name_end..)
        .unwrap_or("")
        .split(['[', ']'])
        .filter_map(|p| p.parse().ok())
        .collect();
    (name, indices)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

/// The end (exclusive) of a string starting at `i` (its opening quote).
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The end (exclusive) of the JSON value starting at `i`.
fn value_end(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => string_end(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match bytes.get(j)? {
                    b'"' => {
                        j = string_end(bytes, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while bytes
                .get(j)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                j += 1;
            }
            Some(j)
        }
    }
}

/// In the object starting at `object`, the member named `key`: (key start, value start).
fn member(bytes: &[u8], object: usize, key: &str) -> Option<(usize, usize)> {
    if bytes.get(object) != Some(&b'{') {
        return None;
    }
    let mut i = skip_ws(bytes, object + 1);
    loop {
        if bytes.get(i)? != &b'"' {
            return None;
        }
        let key_end = string_end(bytes, i)?;
        let name = std::str::from_utf8(bytes.get(i + 1..key_end - 1)?).ok()?;
        let colon = skip_ws(bytes, key_end);
        if bytes.get(colon)? != &b':' {
            return None;
        }
        let value = skip_ws(bytes, colon + 1);
        if name == key {
            return Some((i, value));
        }
        let after = skip_ws(bytes, value_end(bytes, value)?);
        match bytes.get(after)? {
            b',' => i = skip_ws(bytes, after + 1),
            _ => return None,
        }
    }
}

/// In the array starting at `array`, the start of element `index`.
fn element(bytes: &[u8], array: usize, index: usize) -> Option<usize> {
    if bytes.get(array) != Some(&b'[') {
        return None;
    }
    let mut i = skip_ws(bytes, array + 1);
    for _ in 0..index {
        let after = skip_ws(bytes, value_end(bytes, i)?);
        if bytes.get(after)? != &b',' {
            return None;
        }
        i = skip_ws(bytes, after + 1);
    }
    matches!(bytes.get(i), Some(b) if *b != b']').then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown<'t>(text: &'t str, path: &str) -> Option<&'t str> {
        locate(text, path).and_then(|(s, e)| text.get(s..e))
    }

    #[test]
    fn finds_nested_fields_and_list_elements() {
        let text = r#"{"id": "type", "visa": {"type": "multiple"}, "travel": {"route": ["SY", "LB", "ru"]}}"#;
        assert_eq!(shown(text, "visa.type"), Some(r#""type": "multiple""#));
        assert_eq!(shown(text, "travel.route[2]"), Some(r#""ru""#));
        assert_eq!(shown(text, "id"), Some(r#""id": "type""#));
    }

    #[test]
    fn a_missing_field_points_at_its_parent() {
        let text = r#"{"visa": {"type": "multi_entry"}}"#;
        assert_eq!(
            shown(text, "visa.valid_until"),
            Some(r#""visa": {"type": "multi_entry"}"#)
        );
        assert_eq!(shown(text, "nationality"), None);
    }

    #[test]
    fn never_panics_on_broken_text() {
        for text in ["", "{", "{\"a\"", "{\"a\":", "[1,", "{\"a\": [1, 2", "\"\\"] {
            let _ = locate(text, "a[1].b");
        }
    }
}
