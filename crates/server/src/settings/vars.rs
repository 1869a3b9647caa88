//! The environment as Spring Boot reads it: relaxed binding (`SPRING_KAFKA_BOOTSTRAP_SERVERS`
//! and `SPRING_KAFKA_BOOTSTRAPSERVERS` are one variable) and `${VAR}` / `${VAR:default}`
//! placeholders inside values (the original's MongoDB URI has them).
//!
//! `Vars` is also the readers' notebook, so that one start reports every problem and knows
//! which variables exist:
//! - every name a reader asks for is recorded: the known variables are exactly those the
//!   readers read, with no second list to keep in step ([`Vars::unread`] finds the `RTM_*`
//!   variables that are set but never read, misspelt ones included);
//! - a reader keeps returning `Result<T, SettingsError>`, and its caller hands the result to
//!   [`Vars::check`], which records the problem and gives `None`; [`Vars::finish`] then
//!   fails with every recorded problem. A reader's own `?` stops only that reader, so
//!   independent variables are best read by separate readers (or checked one by one).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::settings::{SettingsError, SettingsErrors};

/// How deep placeholders may nest before the value is refused as circular.
const MAX_PLACEHOLDER_DEPTH: usize = 8;

/// The process environment, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    /// Relaxed name (upper case, no `_`, `-` or `.`) → (name as set, value).
    by_relaxed_name: BTreeMap<String, Vec<(String, String)>>,
    /// Relaxed names the readers asked for (interior mutability: readers take `&Vars`).
    asked: RefCell<BTreeSet<String>>,
    /// Relaxed prefixes the readers listed ([`Vars::with_prefix`]).
    asked_prefixes: RefCell<BTreeSet<String>>,
    /// Problems recorded by [`Vars::check`], in the order met.
    problems: RefCell<Vec<SettingsError>>,
}

/// The relaxed form of a variable name: Spring binds `A_B_C`, `A_BC` and `a.b-c` alike.
pub(crate) fn relaxed(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | '.')).map(|c| c.to_ascii_uppercase()).collect()
}

impl Vars {
    pub(crate) fn new(vars: &BTreeMap<String, String>) -> Self {
        let mut by_relaxed_name: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (name, value) in vars {
            by_relaxed_name.entry(relaxed(name)).or_default().push((name.clone(), value.clone()));
        }
        Self { by_relaxed_name, ..Self::default() }
    }

    /// `Some(value)`, or `None` with the problem recorded for [`finish`](Self::finish).
    pub(crate) fn check<T>(&self, result: Result<T, SettingsError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                let mut problems = self.problems.borrow_mut();
                // Two readers of one variable meet its problem twice: say it once.
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
                None
            }
        }
    }

    /// Both values, or a problem with the other one recorded: for a reader that returns
    /// `Result<T, SettingsError>` and reads independent variables, so that its caller's
    /// [`check`](Self::check) reports both.
    ///
    /// # Errors
    ///
    /// The second problem when both failed (the first is recorded), else the one problem.
    pub(crate) fn both<A, B>(
        &self,
        a: Result<A, SettingsError>,
        b: Result<B, SettingsError>,
    ) -> Result<(A, B), SettingsError> {
        match (a, b) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (Err(first), Err(second)) => {
                self.check::<()>(Err(first));
                Err(second)
            }
            (Err(problem), Ok(_)) | (Ok(_), Err(problem)) => Err(problem),
        }
    }

    /// `value` when no problem was recorded, else every problem, in the order met.
    ///
    /// # Errors
    ///
    /// [`SettingsErrors`] listing every recorded problem, with the unread `RTM_*` variables.
    pub(crate) fn finish<T>(&self, value: Option<T>) -> Result<T, SettingsErrors> {
        let problems = self.problems.borrow().clone();
        match value {
            Some(value) if problems.is_empty() => Ok(value),
            // `check` records a problem whenever it gives `None`, so `problems` is only empty
            // here if a reader dropped a value without checking it: still say so, never panic.
            _ => Err(SettingsErrors {
                problems: if problems.is_empty() {
                    vec![SettingsError::new("(settings)", "a reader failed without a message")]
                } else {
                    problems
                },
                unread: self.unread("RTM_"),
            }),
        }
    }

    /// The variables whose name starts with `prefix` that are set but that no reader asked
    /// for: unknown (misspelt, from another version) or unused in this configuration.
    pub(crate) fn unread(&self, prefix: &str) -> Vec<String> {
        let prefix = relaxed(prefix);
        let asked = self.asked.borrow();
        let prefixes = self.asked_prefixes.borrow();
        self.by_relaxed_name
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .filter(|(name, _)| {
                !asked.contains(*name) && !prefixes.iter().any(|known| name.starts_with(known))
            })
            .flat_map(|(_, spellings)| spellings.iter().map(|(spelling, _)| spelling.clone()))
            .collect()
    }

    /// The raw value of `name` in any spelling, blank counting as unset.
    ///
    /// # Errors
    ///
    /// When two spellings of the variable are set to different values.
    fn raw(&self, name: &str) -> Result<Option<(String, String)>, SettingsError> {
        let relaxed_name = relaxed(name);
        self.asked.borrow_mut().insert(relaxed_name.clone());
        let Some(spellings) = self.by_relaxed_name.get(&relaxed_name) else {
            return Ok(None);
        };
        let set: Vec<&(String, String)> =
            spellings.iter().filter(|(_, value)| !value.trim().is_empty()).collect();
        match set.as_slice() {
            [] => Ok(None),
            [(spelling, value), rest @ ..] => {
                if let Some((other, _)) =
                    rest.iter().find(|(_, other_value)| other_value.trim() != value.trim())
                {
                    return Err(SettingsError::new(
                        name,
                        format!(
                            "is set twice with different values (as {spelling} and as {other}); keep one"
                        ),
                    ));
                }
                Ok(Some((spelling.clone(), value.trim().to_owned())))
            }
        }
    }

    /// The value of `name` (any spelling), placeholders expanded.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the variable when spellings disagree, a placeholder names
    /// an unset variable without a default, or placeholders nest too deep.
    pub(crate) fn get(&self, name: &str) -> Result<Option<String>, SettingsError> {
        match self.raw(name)? {
            None => Ok(None),
            Some((spelling, value)) => self.expand(&spelling, &value, 0).map(Some),
        }
    }

    /// The first of `names` that is set (aliases such as `SPRING_DATA_REDIS_HOST` /
    /// `SPRING_REDIS_HOST`), with the name it was found under.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), and when two aliases are set to different values.
    pub(crate) fn get_any(
        &self,
        names: &[&str],
    ) -> Result<Option<(String, String)>, SettingsError> {
        let mut found: Option<(String, String)> = None;
        for name in names {
            if let Some(value) = self.get(name)? {
                match &found {
                    Some((first, first_value)) if *first_value != value => {
                        return Err(SettingsError::new(
                            name,
                            format!("disagrees with {first}; they name the same setting, keep one"),
                        ));
                    }
                    Some(_) => {}
                    None => found = Some(((*name).to_owned(), value)),
                }
            }
        }
        Ok(found)
    }

    /// Every variable whose relaxed name starts with the relaxed `prefix`, as set.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let prefix = relaxed(prefix);
        self.asked_prefixes.borrow_mut().insert(prefix.clone());
        self.by_relaxed_name
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .flat_map(|(_, spellings)| spellings.iter().cloned())
            .filter(|(_, value)| !value.trim().is_empty())
            .collect()
    }

    fn expand(&self, variable: &str, value: &str, depth: usize) -> Result<String, SettingsError> {
        if !value.contains("${") {
            return Ok(value.to_owned());
        }
        if depth >= MAX_PLACEHOLDER_DEPTH {
            return Err(SettingsError::new(variable, "placeholders nest too deep (a cycle?)"));
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(SettingsError::new(variable, "has a `${` without its closing `}`"));
            };
            let inner = &after[..end];
            let (name, default) = match inner.split_once(':') {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let resolved = match self.raw(name)? {
                Some((spelling, raw)) => self.expand(&spelling, &raw, depth + 1)?,
                None => match default {
                    Some(default) => default.to_owned(),
                    None => {
                        return Err(SettingsError::new(
                            variable,
                            format!(
                                "refers to ${{{name}}}, which is not set (set it, or write ${{{name}:default}})"
                            ),
                        ));
                    }
                },
            };
            out.push_str(&resolved);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(
            &pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        )
    }

    #[test]
    fn both_spellings_of_a_variable_are_one_variable() {
        let env = vars(&[("SPRING_KAFKA_BOOTSTRAPSERVERS", "kafka:9092")]);
        assert_eq!(
            env.get("SPRING_KAFKA_BOOTSTRAP_SERVERS").unwrap().as_deref(),
            Some("kafka:9092")
        );
        let both = vars(&[
            ("SPRING_KAFKA_BOOTSTRAPSERVERS", "a:9092"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
        ]);
        let err = both.get("SPRING_KAFKA_BOOTSTRAP_SERVERS").unwrap_err();
        assert!(err.to_string().contains("different values"), "{err}");
        let same = vars(&[
            ("SPRING_KAFKA_BOOTSTRAPSERVERS", "a:9092"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "a:9092"),
        ]);
        assert_eq!(same.get("SPRING_KAFKA_BOOTSTRAP_SERVERS").unwrap().as_deref(), Some("a:9092"));
    }

    #[test]
    fn placeholders_are_expanded_from_other_variables_and_defaults() {
        let env = vars(&[
            (
                "SPRING_DATA_MONGODB_URI",
                "mongodb://${DB_USERNAME}:${DB_PASSWORD}@mongo:27017/${DB_NAME:app-runtime}?retryWrites=false",
            ),
            ("DB_USERNAME", "app-runtime"),
            ("DB_PASSWORD", "s3cret"),
        ]);
        assert_eq!(
            env.get("SPRING_DATA_MONGODB_URI").unwrap().as_deref(),
            Some("mongodb://app-runtime:s3cret@mongo:27017/app-runtime?retryWrites=false")
        );
    }

    #[test]
    fn an_unset_placeholder_without_default_names_both_variables() {
        let env = vars(&[("SPRING_DATA_MONGODB_URI", "mongodb://${DB_USERNAME}@mongo/x")]);
        let err = env.get("SPRING_DATA_MONGODB_URI").unwrap_err().to_string();
        assert!(err.contains("SPRING_DATA_MONGODB_URI") && err.contains("DB_USERNAME"), "{err}");
    }

    #[test]
    fn circular_placeholders_are_refused() {
        let env = vars(&[("A", "${B}"), ("B", "${A}")]);
        assert!(env.get("A").unwrap_err().to_string().contains("deep"));
    }

    #[test]
    fn checked_problems_are_all_reported_and_unread_variables_named() {
        let env = vars(&[
            ("RTM_KNOWN", "1"),
            ("RTM_TYPO_SETTING", "x"),
            ("RTM_LISTED_FOO", "y"),
            ("OTHER", "z"),
        ]);
        assert_eq!(env.check(env.get("RTM_KNOWN")).flatten().as_deref(), Some("1"));
        let _ = env.with_prefix("RTM_LISTED_");
        assert_eq!(env.check::<()>(Err(SettingsError::new("A", "first"))), None);
        assert_eq!(env.check::<()>(Err(SettingsError::new("B", "second"))), None);
        assert_eq!(env.check::<()>(Err(SettingsError::new("A", "first"))), None);
        let err = env.finish(Some(())).unwrap_err();
        assert_eq!(err.to_string(), "A: first\nB: second");
        assert_eq!(err.unread, ["RTM_TYPO_SETTING"]);
        let clean = vars(&[("RTM_KNOWN", "1")]);
        assert_eq!(clean.finish(Some(7)).unwrap(), 7);
    }

    #[test]
    fn aliases_are_one_setting() {
        let env = vars(&[("SPRING_REDIS_HOST", "redis")]);
        let (name, value) =
            env.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"]).unwrap().unwrap();
        assert_eq!((name.as_str(), value.as_str()), ("SPRING_REDIS_HOST", "redis"));
        let clash = vars(&[("SPRING_REDIS_HOST", "a"), ("SPRING_DATA_REDIS_HOST", "b")]);
        assert!(clash.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"]).is_err());
    }
}
