//! Collecting bad fields: parse everything, record every problem under the field's path
//! (`customer.phone`, `parts[2].quantity`), and answer once with all of them. One type for the
//! whole mesh, outside the gRPC module so domain code (`TryFrom` commands) uses it too; the gRPC
//! layer turns it into `google.rpc.BadRequest`, the gateway into problem+json `errors`.

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
