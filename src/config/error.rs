//! Config errors that point at the spot in the file.

use std::fmt;
use std::path::{Path, PathBuf};

/// One thing wrong with the config, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file the problem is in (the main config or an included file).
    pub file: PathBuf,
    /// 1-based line, 0 when the problem has no position (a missing file).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Dotted key path, such as `party[2].source[0].url`.
    pub key: String,
    /// What is wrong, in words, and where possible what to do.
    pub message: String,
}

impl ConfigIssue {
    /// An issue at byte offset `offset` of `text`, the contents of `file`.
    pub fn at(file: &Path, text: &str, offset: usize, key: impl Into<String>, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        ConfigIssue { file: file.to_path_buf(), line, column, key: key.into(), message: message.into() }
    }

    /// An issue about a whole file (it cannot be read, say).
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        ConfigIssue { file: file.to_path_buf(), line: 0, column: 0, key: String::new(), message: message.into() }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a config; never empty.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(f, "the config has {n} error{}:", if n == 1 { "" } else { "s" })?;
        for issue in &self.issues {
            writeln!(f, "  {issue}")?;
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_and_in_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('=').unwrap()), (1, 3));
        // "bé" is three bytes but two characters: '=' sits in column 4.
        assert_eq!(line_column(text, text.rfind('=').unwrap()), (2, 4));
        assert_eq!(line_column(text, 999), (3, 1));
    }

    #[test]
    fn issue_display_names_file_line_key_and_cause() {
        let issue = ConfigIssue::at(Path::new("c.toml"), "x\nid = 1", 2, "party[0].id", "must be a string");
        assert_eq!(issue.to_string(), "c.toml:2:1: party[0].id: must be a string");
    }
}
