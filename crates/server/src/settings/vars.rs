//! The environment as Spring Boot reads it: relaxed binding (`SPRING_KAFKA_BOOTSTRAP_SERVERS`
//! and `SPRING_KAFKA_BOOTSTRAPSERVERS` are one variable) and `${VAR}` / `${VAR:default}`
//! placeholders inside values (the original's MongoDB URI has them).

use std::collections::BTreeMap;

use crate::settings::SettingsError;

/// How deep placeholders may nest before the value is refused as circular.
const MAX_PLACEHOLDER_DEPTH: usize = 8;

/// The process environment, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    /// Relaxed name (upper case, no `_`, `-` or `.`) → (name as set, value).
    by_relaxed_name: BTreeMap<String, Vec<(String, String)>>,
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
        Self { by_relaxed_name }
    }

    /// The raw value of `name` in any spelling, blank counting as unset.
    ///
    /// # Errors
    ///
    /// When two spellings of the variable are set to different values.
    fn raw(&self, name: &str) -> Result<Option<(String, String)>, SettingsError> {
        let Some(spellings) = self.by_relaxed_name.get(&relaxed(name)) else {
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
    fn aliases_are_one_setting() {
        let env = vars(&[("SPRING_REDIS_HOST", "redis")]);
        let (name, value) =
            env.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"]).unwrap().unwrap();
        assert_eq!((name.as_str(), value.as_str()), ("SPRING_REDIS_HOST", "redis"));
        let clash = vars(&[("SPRING_REDIS_HOST", "a"), ("SPRING_DATA_REDIS_HOST", "b")]);
        assert!(clash.get_any(&["SPRING_DATA_REDIS_HOST", "SPRING_REDIS_HOST"]).is_err());
    }
}
