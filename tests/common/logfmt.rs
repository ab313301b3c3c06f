//! The `poll-once` report: one logfmt line per source, e.g.
//! `party=pcp source=pcp/rss status=ok http=200 seen=3 new=3 updated=0 url=...`.

use std::collections::BTreeMap;

/// One parsed report line: key to value, quotes removed.
#[derive(Clone, Debug)]
pub struct PollLine {
    pub raw: String,
    pub fields: BTreeMap<String, String>,
}

impl PollLine {
    /// The value of `key`; panics naming the line when it is missing.
    pub fn get(&self, key: &str) -> &str {
        self.fields.get(key).unwrap_or_else(|| panic!("poll-once line has no `{key}=`: {}", self.raw))
    }

    pub fn count(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap_or_else(|_| panic!("`{key}=` is not a number in: {}", self.raw))
    }
}

/// Parses every non-empty line of `stdout`.
pub fn parse_lines(stdout: &str) -> Vec<PollLine> {
    stdout.lines().filter(|l| !l.trim().is_empty()).map(|l| PollLine { raw: l.to_string(), fields: parse_line(l) }).collect()
}

/// The one line for `source` (e.g. `pcp/rss`); panics if there is not
/// exactly one.
pub fn line_for<'a>(lines: &'a [PollLine], source: &str) -> &'a PollLine {
    let found: Vec<&PollLine> = lines.iter().filter(|l| l.fields.get("source").map(String::as_str) == Some(source)).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one line with source={source}, got {}:\n{}",
        found.len(),
        lines.iter().map(|l| l.raw.as_str()).collect::<Vec<_>>().join("\n")
    );
    found[0]
}

pub fn parse_line(line: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                value.push(match escaped {
                                    'n' => '\n',
                                    't' => '\t',
                                    other => other,
                                });
                            }
                        }
                        '"' => break,
                        other => value.push(other),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        if !key.is_empty() {
            fields.insert(key, value);
        } else {
            // A stray '=' with no key: skip it.
            chars.next();
        }
    }
    fields
}
