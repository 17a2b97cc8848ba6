//! Product-specific rules (产品特定原产地规则) as data: the rule text of RCEP Annex 3A parsed
//! into alternatives of terms (headnotes 4–7): `CC`, `CTH`, `CTSH` (change of chapter,
//! heading, subheading, with exclusions such as "except from Chapter 01"), `RVC40`,
//! `WO`, `CR`, joined by `or` (any one suffices, the exporter chooses — headnote 8) and
//! `and`/`+` (all must hold).

use serde::Serialize;

/// An HS level (headnote 3): chapter = 2 digits, heading = 4, subheading = 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Chapter,
    Heading,
    Subheading,
}

impl Level {
    pub fn digits(self) -> usize {
        match self {
            Level::Chapter => 2,
            Level::Heading => 4,
            Level::Subheading => 6,
        }
    }

    pub fn of_digits(n: usize) -> Option<Level> {
        match n {
            2 => Some(Level::Chapter),
            4 => Some(Level::Heading),
            6 => Some(Level::Subheading),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Chapter => "chapter",
            Level::Heading => "heading",
            Level::Subheading => "subheading",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Level::Chapter => "章",
            Level::Heading => "品目",
            Level::Subheading => "子目",
        }
    }
}

/// A chapter, heading or subheading: its digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HsRef {
    pub level: Level,
    pub digits: String,
}

impl HsRef {
    /// Whether an HS code (digits, at least 6) falls under this reference.
    pub fn covers(&self, code: &str) -> bool {
        code.starts_with(&self.digits)
    }
}

/// Digits of an HS code as printed (`0504.00`, `85.17`, `14`).
pub fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

/// One requirement of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Term {
    /// 完全获得: wholly obtained or produced (Art. 3.3).
    WhollyObtained,
    /// 化学反应: the chemical reaction rule (headnote 7).
    ChemicalReaction,
    /// 税则归类改变: every non-originating material changed classification at `level`,
    /// and none comes from an excluded chapter/heading/subheading (headnotes 5–6).
    Ctc { level: Level, except: Vec<HsRef> },
    /// 区域价值成分: regional value content of at least `percent` (Art. 3.5).
    Rvc { percent: u32 },
}

impl Term {
    pub fn code(&self) -> String {
        match self {
            Term::WhollyObtained => "WO".into(),
            Term::ChemicalReaction => "CR".into(),
            Term::Ctc { level, .. } => match level {
                Level::Chapter => "CC".into(),
                Level::Heading => "CTH".into(),
                Level::Subheading => "CTSH".into(),
            },
            Term::Rvc { percent } => format!("RVC{percent}"),
        }
    }
}

/// A product-specific rule: any alternative suffices; every term of an alternative must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// As printed, e.g. `CTH or RVC40`, `CC except from Chapter 01`.
    pub text: String,
    pub alternatives: Vec<Vec<Term>>,
}

/// A rule text that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{text}`: {message}")]
pub struct RuleError {
    pub text: String,
    pub message: String,
}

fn term_code(word: &str) -> Option<Term> {
    let w = word.trim_matches(|c: char| c == ',' || c == ';' || c == '(' || c == ')');
    match w.to_ascii_uppercase().as_str() {
        "WO" => Some(Term::WhollyObtained),
        "CR" => Some(Term::ChemicalReaction),
        "CC" => Some(Term::Ctc {
            level: Level::Chapter,
            except: Vec::new(),
        }),
        "CTH" => Some(Term::Ctc {
            level: Level::Heading,
            except: Vec::new(),
        }),
        "CTSH" => Some(Term::Ctc {
            level: Level::Subheading,
            except: Vec::new(),
        }),
        u => u
            .strip_prefix("RVC")
            .and_then(|p| p.parse::<u32>().ok())
            .filter(|p| (1..=100).contains(p))
            .map(|percent| Term::Rvc { percent }),
    }
}

/// Parses one rule text.
pub fn parse_rule(text: &str) -> Result<Rule, RuleError> {
    let err = |m: String| RuleError {
        text: text.to_string(),
        message: m,
    };
    let mut alternatives: Vec<Vec<Term>> = Vec::new();
    let mut current: Vec<Term> = Vec::new();
    // Inside "except from …": the level of the references being listed.
    let mut excepting: Option<Option<Level>> = None;
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let lower = w
            .trim_matches(|c: char| c == ',' || c == ';')
            .to_ascii_lowercase();
        if lower == "or" {
            if current.is_empty() {
                return Err(err("`or` without a rule before it".into()));
            }
            alternatives.push(std::mem::take(&mut current));
            excepting = None;
        } else if lower == "and" || lower == "+" {
            // Either joins two terms, or continues a list of excluded codes.
        } else if let Some(t) = term_code(w) {
            current.push(t);
            excepting = None;
        } else if lower == "except" {
            if words.get(i + 1).map(|w| w.to_ascii_lowercase()) != Some("from".into()) {
                return Err(err("`except` must be followed by `from`".into()));
            }
            if !matches!(current.last(), Some(Term::Ctc { .. })) {
                return Err(err(
                    "an exclusion follows a change-of-classification rule".into()
                ));
            }
            excepting = Some(None);
            i += 1;
        } else if let Some(level) = excepting {
            let l = match lower.trim_end_matches('s') {
                "chapter" => Some(Some(Level::Chapter)),
                "heading" => Some(Some(Level::Heading)),
                "subheading" => Some(Some(Level::Subheading)),
                _ => None,
            };
            if let Some(l) = l {
                excepting = Some(l);
            } else {
                let d = digits(w);
                if d.is_empty() {
                    return Err(err(format!(
                        "`{w}` is not a chapter, heading or subheading"
                    )));
                }
                let level = level
                    .or_else(|| Level::of_digits(d.len()))
                    .ok_or_else(|| err(format!("`{w}`: say chapter, heading or subheading")))?;
                if d.len() != level.digits() {
                    return Err(err(format!(
                        "`{w}` is not a {} ({} digits)",
                        level.name(),
                        level.digits()
                    )));
                }
                if let Some(Term::Ctc { except, .. }) = current.last_mut() {
                    except.push(HsRef { level, digits: d });
                }
            }
        } else {
            return Err(err(format!(
                "`{w}` is not a rule code (WO, CC, CTH, CTSH, RVCnn, CR)"
            )));
        }
        i += 1;
    }
    if current.is_empty() {
        return Err(err("no rule after the last `or`, or an empty rule".into()));
    }
    alternatives.push(current);
    Ok(Rule {
        text: text.trim().to_string(),
        alternatives,
    })
}
