//! Collecting bad fields: parse everything, record every problem under the field's path
//! (`customer.phone`, `parts[2].quantity`), and answer once with all of them. One type for the
//! whole mesh, outside the gRPC module so domain code (`TryFrom` commands) uses it too; the gRPC
//! layer turns it into `google.rpc.BadRequest`, the gateway into problem+json `errors`.

use std::collections::BTreeMap;
use std::fmt;

/// A bad field: its path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Every bad field of one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid(pub Vec<Violation>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.0.iter().map(Violation::to_string).collect();
        write!(f, "invalid input: {}", list.join("; "))
    }
}

impl std::error::Error for Invalid {}

impl Invalid {
    /// One bad field.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self(vec![Violation::new(field, description)])
    }
}

/// The collector: `check` each parse, then `finish` (or `done`) once.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation::new(field, description));
    }

    /// Runs a parser's result: on error records it under `field` and returns `None`.
    pub fn check<T, E: fmt::Display>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Records the violations of a nested input under `prefix` (`parts[2]` + `.quantity`).
    pub fn nest(&mut self, prefix: &str, inner: Invalid) {
        for v in inner.0 {
            self.add(format!("{prefix}.{}", v.field), v.description);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }

    /// `Ok(make())` when nothing was recorded: `make` may unwrap the `check`ed options, which are
    /// all `Some` then.
    pub fn done<T>(self, make: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        self.finish()?;
        make().ok_or_else(|| Invalid::field("request", "incomplete"))
    }

    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

/// Text that must be present and at most `max` characters, trimmed, without control characters.
pub fn required_text(s: &str, max: usize) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("is required".into());
    }
    optional_text(t, max)
}

/// Text of at most `max` characters, trimmed, without control characters (newlines and tabs
/// allowed); may be empty.
pub fn optional_text(s: &str, max: usize) -> Result<String, String> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("must not contain control characters".into());
    }
    Ok(t.to_owned())
}

// How many bad lines an answer names: at most MAX_LISTED per list, then one "and N more", so
// that an error stays small however many lines a request carries (INVALID_ARGUMENT's details
// travel in a gRPC trailer, and clients refuse large ones). `grpc::invalid_argument` applies it.

/// The most entries of one list an error names.
pub const MAX_LISTED: usize = 50;

/// The first `max` items, then one "and N more" for the rest.
pub fn at_most(mut items: Vec<String>, max: usize) -> Vec<String> {
    if items.len() > max {
        let more = items.len() - max;
        items.truncate(max);
        items.push(format!("and {more} more"));
    }
    items
}

/// The violations with at most `max` per list (`lines`, `lines[3].part_no` and `lines[7]` are
/// all of the list `lines`), in their order, then one `<list>: and N more` per list cut short.
/// A field outside any list is its own list of one.
pub fn cap_violations(violations: Vec<Violation>, max: usize) -> Vec<Violation> {
    let list = |field: &str| field.split('[').next().unwrap_or(field).to_owned();
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let mut cut: Vec<(String, usize)> = Vec::new();
    let mut out = Vec::new();
    for v in violations {
        let key = list(&v.field);
        let n = named.entry(key.clone()).or_default();
        if *n < max {
            *n += 1;
            out.push(v);
        } else if let Some((_, more)) = cut.iter_mut().find(|(k, _)| *k == key) {
            *more += 1;
        } else {
            cut.push((key, 1));
        }
    }
    out.extend(
        cut.into_iter()
            .map(|(key, more)| Violation::new(key, format!("and {more} more"))),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_collected_and_nested_paths_are_prefixed() {
        let mut v = Violations::new();
        assert_eq!(v.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(v.check("b", Err::<u8, _>("is wrong")), None);
        v.nest("parts[1]", Invalid::field("quantity", "must be positive"));
        let e = v.finish().unwrap_err();
        assert_eq!(
            e.0.iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            ["b", "parts[1].quantity"]
        );
        assert_eq!(
            e.to_string(),
            "invalid input: b: is wrong; parts[1].quantity: must be positive"
        );
    }

    #[test]
    fn text_is_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(required_text("  x ", 3).unwrap(), "x");
        assert!(required_text("   ", 3).is_err());
        assert!(optional_text("abcd", 3).is_err());
        assert!(optional_text("a\u{7}", 3).is_err());
        assert_eq!(optional_text("a\nb", 3).unwrap(), "a\nb");
    }
}

#[cfg(test)]
mod listing_tests {
    use super::*;

    #[test]
    fn a_long_list_is_cut_after_the_maximum_with_one_entry_for_the_rest() {
        let items: Vec<String> = (0..53).map(|i| i.to_string()).collect();
        let shown = at_most(items, 50);
        assert_eq!(shown.len(), 51);
        assert_eq!(shown[49], "49");
        assert_eq!(shown[50], "and 3 more");
        assert_eq!(at_most(vec!["a".into()], 50), ["a"]);
    }

    #[test]
    fn violations_are_capped_per_list_and_other_fields_are_kept() {
        let mut v = vec![Violation::new("receipt_id", "is required")];
        for i in 0..120 {
            v.push(Violation::new(format!("lines[{i}].part_no"), "bad"));
        }
        v.push(Violation::new(
            "lines",
            "receipt line 1 has no inspection result",
        ));
        for i in 0..3 {
            v.push(Violation::new(format!("reasons[{i}].reason"), "bad"));
        }
        let capped = cap_violations(v, 50);
        let fields: Vec<&str> = capped.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields.len(), 1 + 50 + 3 + 1);
        assert_eq!(fields[0], "receipt_id");
        assert_eq!(fields[50], "lines[49].part_no");
        assert_eq!(
            &fields[51..54],
            [
                "reasons[0].reason",
                "reasons[1].reason",
                "reasons[2].reason"
            ]
        );
        let last = capped.last().unwrap();
        assert_eq!(
            (last.field.as_str(), last.description.as_str()),
            ("lines", "and 71 more")
        );
    }
}
