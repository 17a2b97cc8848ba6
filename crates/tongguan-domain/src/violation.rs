//! Rule violations with field paths, reported all at once.

use serde::{Deserialize, Serialize};

/// One broken rule on one field, e.g. `uscc` / `uscc.check_character`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Violation {
    /// JSON-pointer-like path of the offending field, e.g. `items/3/commodity_code`.
    pub path: String,
    /// Stable rule name, e.g. `uscc.check_character`.
    pub rule: String,
    /// Human message in English.
    pub message: String,
}

/// Every violation found in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn push(&mut self, path: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(Violation {
            path: path.into(),
            rule: rule.to_string(),
            message: message.into(),
        });
    }

    /// Runs a parse and records its error under `path`, returning the value when valid.
    pub fn check<T>(&mut self, path: &str, result: Result<T, Violation>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(mut v) => {
                v.path = join_path(path, &v.path);
                self.0.push(v);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {} ({})", v.path, v.message, v.rule)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

impl Violation {
    /// A violation whose path the caller fills in (see [`Violations::check`]).
    pub fn rule(rule: &str, message: impl Into<String>) -> Self {
        Self {
            path: String::new(),
            rule: rule.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.path, self.message, self.rule)
    }
}

impl std::error::Error for Violation {}

fn join_path(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}/{rest}"),
    }
}
