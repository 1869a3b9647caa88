//! Timer start events: the processes of a build that the platform's scheduler starts on a
//! date, a cycle or a cron schedule, and the words and checks of their expressions.
//!
//! Expressions are checked here, once, by hand: the three grammars are small and exact
//! (ISO 8601 date-times with an offset, ISO 8601 repeating intervals, Spring's six-field
//! cron), and the crates that parse cron speak other dialects (Sunday as 1, no `L-n`), so a
//! Spring expression they refuse or misread would be refused or misread here too.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Iso8601;

use crate::model::{
    ApplicationId, BuildId, ResourceDefinitionId, ResourceName, ValidationError, WorkspaceId,
};

/// How a timer start event says when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerType {
    /// Once, at an ISO 8601 date-time with an offset (`2026-03-20T10:00:00Z`).
    Date,
    /// On an ISO 8601 repeating interval (`R5/PT10M`, `R/2026-01-01T00:00:00Z/P1D`).
    Cycle,
    /// On a Spring six-field cron expression (`0 0 12 * * MON-FRI`).
    Cron,
}

crate::vocabulary!(TimerType, field = "timer.type", {
    Date => "DATE",
    Cycle => "CYCLE",
    Cron => "CRON",
});

/// Whether the scheduler is told to start or to stop a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleCommand {
    /// Start firing the timer (`core.trigger.set.timer-event-schedule`).
    Set,
    /// Stop firing it (`core.trigger.stop.timer-event-schedule`).
    Stop,
}

crate::vocabulary!(ScheduleCommand, field = "command", {
    Set => "SET",
    Stop => "STOP",
});

/// A timer expression checked against the grammar of its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimerExpression {
    timer_type: TimerType,
    text: String,
}

impl TimerExpression {
    /// The code of an expression that does not parse as its type says.
    pub const INVALID_EXPRESSION: &'static str = "invalid_timer_expression";
    /// The code of a timer type that is not DATE, CYCLE or CRON.
    pub const UNKNOWN_TYPE: &'static str = "unknown_timer_type";

    /// Checks `text` against the grammar of `timer_type`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `timer.expression` with code `invalid_timer_expression`
    /// saying what does not parse.
    pub fn new(timer_type: TimerType, text: &str) -> Result<Self, ValidationError> {
        let checked = match timer_type {
            TimerType::Date => date_time(text).map(|_| ()),
            TimerType::Cycle => repeating_interval(text),
            TimerType::Cron => cron(text),
        };
        checked.map_err(|reason| {
            ValidationError::with_code(
                Self::INVALID_EXPRESSION,
                "timer.expression",
                format!("`{text}` is not a valid {timer_type} expression: {reason}"),
            )
        })?;
        Ok(Self { timer_type, text: text.to_owned() })
    }

    /// Reads a type word and an expression, as a process definition writes them.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] with code `unknown_timer_type` for a type that is not one of
    /// DATE, CYCLE, CRON; else those of [`new`](Self::new).
    pub fn parse(timer_type: &str, text: &str) -> Result<Self, ValidationError> {
        let timer_type = TimerType::parse(timer_type).map_err(|err| {
            ValidationError::with_code(Self::UNKNOWN_TYPE, "timer.type", err.reason)
        })?;
        Self::new(timer_type, text)
    }

    /// Its type.
    pub fn timer_type(&self) -> TimerType {
        self.timer_type
    }

    /// The expression, as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The id of a timer start node in its process definition, as the Designer writes it.
/// Part of a [`TimerId`], so restricted to a path-safe alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerNodeId(String);

impl TimerNodeId {
    /// Checks and wraps `raw`: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `node.id` with code `invalid_timer` otherwise.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let n_chars = raw.chars().count();
        let reason = if n_chars == 0 || n_chars > 64 {
            Some(format!("must have 1 to 64 characters, got {n_chars}"))
        } else {
            raw.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c))).map(|bad| {
                format!("character {bad:?} is not allowed; use A-Z, a-z, 0-9, -, _ and .")
            })
        };
        match reason {
            Some(reason) => {
                Err(ValidationError::with_code(BuildTimer::INVALID_TIMER, "node.id", reason))
            }
            None => Ok(Self(raw.to_owned())),
        }
    }

    /// The text inside.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimerNodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a timer in the API: `{resourceDefinitionId}.{nodeId}` of its process. Path-safe
/// (both parts are), stable across builds of one process (the definition id is), and
/// unambiguous (a definition id has no `.`, so the first `.` separates the parts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId {
    /// The process's stable id.
    pub process: ResourceDefinitionId,
    /// The timer node.
    pub node_id: TimerNodeId,
}

impl TimerId {
    /// Reads `{resourceDefinitionId}.{nodeId}`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `timerId` when either part is missing or invalid.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |reason: String| ValidationError::new("timerId", reason);
        let (process, node_id) = raw
            .split_once('.')
            .ok_or_else(|| invalid(format!("`{raw}` is not `<resourceDefinitionId>.<nodeId>`")))?;
        Ok(Self {
            process: ResourceDefinitionId::parse(process).map_err(|err| invalid(err.reason))?,
            node_id: TimerNodeId::parse(node_id).map_err(|err| invalid(err.reason))?,
        })
    }
}

impl std::str::FromStr for TimerId {
    type Err = ValidationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.process, self.node_id)
    }
}

/// A timer start event of a build's process, with its switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTimer {
    /// The process's stable id.
    pub process: ResourceDefinitionId,
    /// The process's name (`processDefinitionName`).
    pub process_name: ResourceName,
    /// The timer node's id.
    pub node_id: TimerNodeId,
    /// The node's name, when it has one.
    pub name: Option<String>,
    /// The swimlane the node is in, when known.
    pub swimlane: Option<String>,
    /// When it fires.
    pub expression: TimerExpression,
    /// Whether the scheduler runs it while its build is the global one (default true).
    pub activated: bool,
}

impl BuildTimer {
    /// The code of a timer node whose shape is wrong (no `timer`, a bad node id).
    pub const INVALID_TIMER: &'static str = "invalid_timer";
    /// The code of a process with more than one timer start event.
    pub const DUPLICATE_TIMER: &'static str = "duplicate_timer";

    /// The refusal of a timer node whose shape is wrong, with code `invalid_timer`: for the
    /// edge that reads process definitions.
    pub fn invalid_node(field: &'static str, reason: impl Into<String>) -> ValidationError {
        ValidationError::with_code(Self::INVALID_TIMER, field, reason)
    }

    /// Its id in the API.
    pub fn id(&self) -> TimerId {
        TimerId { process: self.process.clone(), node_id: self.node_id.clone() }
    }

    /// Refuses a second timer in one process: a process has at most one timer start event.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `nodes` with code `duplicate_timer` naming the process.
    pub fn check_one_per_process(timers: &[Self]) -> Result<(), ValidationError> {
        let mut seen = std::collections::HashSet::new();
        match timers.iter().find(|timer| !seen.insert(&timer.process)) {
            Some(timer) => Err(ValidationError::with_code(
                Self::DUPLICATE_TIMER,
                "nodes",
                format!(
                    "process `{}` has more than one TIMER_START_EVENT; a process has at most one",
                    timer.process_name
                ),
            )),
            None => Ok(()),
        }
    }

    /// What the scheduler is told about this timer of `build_id`.
    pub fn scheduled(
        &self,
        application_id: ApplicationId,
        workspace_id: Option<WorkspaceId>,
        build_id: BuildId,
    ) -> ScheduledTimer {
        ScheduledTimer {
            application_id,
            workspace_id,
            build_id,
            process_name: self.process_name.clone(),
            node_id: self.node_id.clone(),
            expression: self.expression.clone(),
        }
    }
}

/// A timer as the scheduler knows it: which process of which build, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTimer {
    /// The application.
    pub application_id: ApplicationId,
    /// Its workspace, when known.
    pub workspace_id: Option<WorkspaceId>,
    /// The build whose process is started.
    pub build_id: BuildId,
    /// The process (`processDefinitionName`).
    pub process_name: ResourceName,
    /// The timer node.
    pub node_id: TimerNodeId,
    /// When it fires.
    pub expression: TimerExpression,
}

impl ScheduledTimer {
    /// The scheduler's key, `{appId}:{processName}:{timerNodeId}`: the same for a process's
    /// timer in every build, so a set for a new build replaces the schedule of the old one.
    pub fn schedule_id(&self) -> String {
        format!("{}:{}:{}", self.application_id, self.process_name, self.node_id)
    }
}

/// Which build's timers the scheduler has been told to run for an application, with the
/// revision of that record. Every write that can change the global build (a policy edit, a
/// build stored or deleted, a timer switched) moves the record from the revision it read,
/// so of two racing writes the second finds another revision and recomputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerSchedule {
    /// The application.
    pub application_id: ApplicationId,
    /// The build whose activated timers are set; `None` before any was.
    pub build_id: Option<BuildId>,
    /// Goes up by one with every move; 0 for an application never scheduled.
    pub revision: u64,
}

impl TimerSchedule {
    /// The record of an application never scheduled.
    pub fn unscheduled(application_id: ApplicationId) -> Self {
        Self { application_id, build_id: None, revision: 0 }
    }

    /// The move of this record to `build_id` (possibly the same build), valid only while
    /// the record is still at this revision.
    pub fn move_to(&self, build_id: Option<BuildId>) -> ScheduleMove {
        ScheduleMove {
            application_id: self.application_id,
            expected_revision: self.revision,
            build_id,
        }
    }
}

/// A compare-and-set of an application's [`TimerSchedule`], written with the change it
/// goes with: the record becomes `build_id` at `expected_revision + 1`, or nothing is
/// written when the record is no longer at `expected_revision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleMove {
    /// The application.
    pub application_id: ApplicationId,
    /// The revision the move was computed from.
    pub expected_revision: u64,
    /// The build whose timers are scheduled after the write.
    pub build_id: Option<BuildId>,
}

// ---- ISO 8601 ----------------------------------------------------------------------------

/// An ISO 8601 date-time with an offset: an instant, whatever the scheduler's time zone.
fn date_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Iso8601::DEFAULT).map_err(|err| {
        format!(
            "expected an ISO 8601 date-time with an offset, such as 2026-03-20T10:00:00Z ({err})"
        )
    })
}

/// `R[n]/<duration>`, `R[n]/<start>/<duration>`, `R[n]/<duration>/<end>` or
/// `R[n]/<start>/<end>`.
fn repeating_interval(text: &str) -> Result<(), String> {
    let mut parts = text.split('/');
    let repeat = parts.next().unwrap_or_default();
    let count = repeat.strip_prefix('R').ok_or("a repeating interval starts with `R`")?;
    if !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("`{repeat}` is not `R` followed by a repetition count"));
    }
    let rest: Vec<&str> = parts.collect();
    match rest.as_slice() {
        [period] => duration(period),
        [first, second] => match (first.starts_with('P'), second.starts_with('P')) {
            (false, true) => date_time(first).map(|_| ()).and_then(|()| duration(second)),
            (true, false) => duration(first).and_then(|()| date_time(second).map(|_| ())),
            (false, false) => {
                let start = date_time(first)?;
                let end = date_time(second)?;
                if end > start {
                    Ok(())
                } else {
                    Err("the interval ends before it starts".to_owned())
                }
            }
            (true, true) => Err("an interval has at most one duration".to_owned()),
        },
        _ => Err("expected `R[n]/` and one or two of a start, a duration and an end".to_owned()),
    }
}

/// `PnYnMnWnDTnHnMnS`, each part optional but at least one, the `T` before the time parts;
/// only the smallest part may have a fraction. A zero duration would fire without pause.
fn duration(text: &str) -> Result<(), String> {
    let body = text.strip_prefix('P').ok_or_else(|| format!("`{text}` is not a duration (P…)"))?;
    let (date, time) = match body.split_once('T') {
        Some((_, "")) => {
            return Err(format!("`{text}` has a `T` without hours, minutes or seconds"));
        }
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    let mut parts = Vec::new();
    duration_parts(date, "YMWD", &mut parts).map_err(|reason| format!("`{text}`: {reason}"))?;
    if let Some(time) = time {
        duration_parts(time, "HMS", &mut parts).map_err(|reason| format!("`{text}`: {reason}"))?;
    }
    if parts.is_empty() {
        return Err(format!("`{text}` has no part"));
    }
    if parts[..parts.len() - 1].iter().any(|(_, fraction)| *fraction) {
        return Err(format!("`{text}`: only the last part may have a fraction"));
    }
    if parts.iter().all(|(value, _)| *value == 0.0) {
        return Err(format!("`{text}` is zero"));
    }
    Ok(())
}

fn duration_parts(
    text: &str,
    designators: &str,
    parts: &mut Vec<(f64, bool)>,
) -> Result<(), String> {
    let mut allowed = designators;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        let position = allowed
            .find(c)
            .ok_or_else(|| format!("`{c}` is not one of {designators} here, in this order"))?;
        if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
            return Err(format!("`{c}` needs a number before it"));
        }
        let value: f64 = number.parse().map_err(|_| format!("`{number}` is not a number"))?;
        parts.push((value, number.contains('.')));
        number.clear();
        allowed = &allowed[position + 1..];
    }
    if number.is_empty() { Ok(()) } else { Err(format!("`{number}` has no designator")) }
}

// ---- Spring cron -------------------------------------------------------------------------

/// Spring's `@` macros.
const CRON_MACROS: [&str; 7] =
    ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Clone, Copy)]
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (JAN is 1, SUN is 0).
    first_name: u32,
    /// Whether `?` ("no specific value") is allowed: in the two day fields only.
    question_mark: bool,
}

const SECOND: CronField =
    CronField { name: "second", min: 0, max: 59, names: &[], first_name: 0, question_mark: false };
const MINUTE: CronField =
    CronField { name: "minute", min: 0, max: 59, names: &[], first_name: 0, question_mark: false };
const HOUR: CronField =
    CronField { name: "hour", min: 0, max: 23, names: &[], first_name: 0, question_mark: false };
const DAY_OF_MONTH: CronField = CronField {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
    question_mark: true,
};
const MONTH: CronField = CronField {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    first_name: 1,
    question_mark: false,
};
/// 0 and 7 are both Sunday, as in Spring.
const DAY_OF_WEEK: CronField = CronField {
    name: "day of week",
    min: 0,
    max: 7,
    names: &DAYS,
    first_name: 0,
    question_mark: true,
};

/// Spring's `CronExpression`: six fields (second, minute, hour, day of month, month, day of
/// week) or a macro; lists, ranges, steps, names, `?`, and Quartz's `L`, `W` and `#`.
fn cron(text: &str) -> Result<(), String> {
    if text.starts_with('@') {
        return if CRON_MACROS.contains(&text) {
            Ok(())
        } else {
            Err(format!("the macros are {}", CRON_MACROS.join(", ")))
        };
    }
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let [second, minute, hour, day_of_month, month, day_of_week] = fields.as_slice() else {
        return Err(format!(
            "expected six fields (second minute hour day-of-month month day-of-week), got {}",
            fields.len()
        ));
    };
    cron_field(second, SECOND, |_| None)?;
    cron_field(minute, MINUTE, |_| None)?;
    cron_field(hour, HOUR, |_| None)?;
    cron_field(day_of_month, DAY_OF_MONTH, quartz_day_of_month)?;
    cron_field(month, MONTH, |_| None)?;
    cron_field(day_of_week, DAY_OF_WEEK, quartz_day_of_week)
}

/// One field: a comma-separated list of `*`, `?`, `n`, `n-m`, each optionally `/step`, or a
/// Quartz form the field allows (`quartz` answers for those it recognises).
fn cron_field(
    text: &str,
    field: CronField,
    quartz: fn(&str) -> Option<Result<(), String>>,
) -> Result<(), String> {
    let in_field = |reason: String| format!("{} field `{text}`: {reason}", field.name);
    for element in text.split(',') {
        if let Some(checked) = quartz(element) {
            checked.map_err(in_field)?;
            continue;
        }
        let (range, step) = match element.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (element, None),
        };
        if let Some(step) = step {
            let step = number(step).map_err(in_field)?;
            if step == 0 {
                return Err(in_field("a step must be 1 or more".to_owned()));
            }
        }
        if range == "*" || (range == "?" && field.question_mark) {
            continue;
        }
        let (low, high) = match range.split_once('-') {
            Some((low, high)) => {
                (value(low, field).map_err(in_field)?, Some(value(high, field).map_err(in_field)?))
            }
            None => (value(range, field).map_err(in_field)?, None),
        };
        if let Some(high) = high
            && high < low
        {
            return Err(in_field(format!("the range `{range}` ends before it starts")));
        }
    }
    Ok(())
}

fn number(text: &str) -> Result<u32, String> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("`{text}` is not a number"));
    }
    text.parse().map_err(|_| format!("`{text}` is too large"))
}

/// A number within the field's bounds, or one of its names (any case, as Spring reads them).
fn value(text: &str, field: CronField) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(index) = field.names.iter().position(|name| *name == upper) {
        return Ok(field.first_name + u32::try_from(index).unwrap_or(0));
    }
    let value = number(text)?;
    if (field.min..=field.max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between {} and {}", field.min, field.max))
    }
}

/// `L`, `L-n` (n days before the last), `LW`, `nW`.
fn quartz_day_of_month(element: &str) -> Option<Result<(), String>> {
    if !element.contains(['L', 'W']) {
        return None;
    }
    Some(match element {
        "L" | "LW" => Ok(()),
        _ => {
            if let Some(offset) = element.strip_prefix("L-") {
                number(offset).and_then(|offset| {
                    if offset <= 30 {
                        Ok(())
                    } else {
                        Err(format!("`L-{offset}` is more than 30 days"))
                    }
                })
            } else if let Some(day) = element.strip_suffix('W') {
                value(day, DAY_OF_MONTH).map(|_| ())
            } else {
                Err(format!("`{element}` is not one of L, L-n, LW, nW"))
            }
        }
    })
}

/// `dL` (the last day d of the month) and `d#n` (the n-th day d, n from 1 to 5).
fn quartz_day_of_week(element: &str) -> Option<Result<(), String>> {
    if let Some((day, nth)) = element.split_once('#') {
        return Some(value(day, DAY_OF_WEEK).and_then(|_| match number(nth) {
            Ok(1..=5) => Ok(()),
            _ => Err(format!("`#{nth}` must be #1 to #5")),
        }));
    }
    let day = element.strip_suffix('L')?;
    if day.is_empty() {
        // A bare `L` is Saturday in Quartz; Spring refuses it: say so.
        return Some(Err("`L` needs a day before it, such as 5L or FRIL".to_owned()));
    }
    Some(value(day, DAY_OF_WEEK).map(|_| ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(timer_type: TimerType, text: &str) {
        if let Err(err) = TimerExpression::new(timer_type, text) {
            panic!("{timer_type} `{text}` should be accepted: {err}");
        }
    }

    fn refuses(timer_type: TimerType, text: &str) {
        let err = TimerExpression::new(timer_type, text)
            .expect_err(&format!("{timer_type} `{text}` should be refused"));
        assert_eq!(err.code(), TimerExpression::INVALID_EXPRESSION);
    }

    #[test]
    fn dates_are_iso_8601_instants_with_an_offset() {
        accepts(TimerType::Date, "2019-10-01T12:00:00Z");
        accepts(TimerType::Date, "2019-10-02T08:09:40+02:00");
        accepts(TimerType::Date, "2026-03-20T10:00:00.250Z");
        for bad in ["2019-10-01T12:00:00", "2019-10-01", "tomorrow", "", "2019-13-01T00:00:00Z"] {
            refuses(TimerType::Date, bad);
        }
    }

    #[test]
    fn cycles_are_iso_8601_repeating_intervals() {
        for good in [
            "R5/PT10M",
            "R/PT1H",
            "R/P1D",
            "R3/P1Y2M10DT2H30M",
            "R/P2W",
            "R/PT0.5S",
            "R10/2026-01-01T00:00:00Z/PT1H",
            "R/PT1H/2026-12-31T23:59:59Z",
            "R2/2026-01-01T00:00:00Z/2026-01-02T00:00:00Z",
        ] {
            accepts(TimerType::Cycle, good);
        }
        for bad in [
            "PT10M",
            "R5",
            "R5/",
            "Rx/PT1M",
            "R/P",
            "R/PT",
            "R/PT0S",
            "R/P1H",
            "R/PT1D",
            "R/P1.5DT1H",
            "R/PT1H/PT2H",
            "R/PT1H/x",
            "R/2026-01-02T00:00:00Z/2026-01-01T00:00:00Z",
            "R/PT1M/2026-01-01T00:00:00Z/PT1M",
            "0 0 12 * * MON-FRI",
        ] {
            refuses(TimerType::Cycle, bad);
        }
    }

    #[test]
    fn crons_are_spring_six_field_expressions() {
        for good in [
            "0 0 12 * * MON-FRI",
            "0 0 * * * *",
            "*/10 * * * * *",
            "0 0 8-10 * * *",
            "0 0 6,19 * * *",
            "0 0/30 8-10 * * *",
            "0 0 9-17 * * MON-FRI",
            "0 0 0 25 12 ?",
            "0 0 0 L * *",
            "0 0 0 L-3 * *",
            "0 0 0 1W * *",
            "0 0 0 LW * *",
            "0 0 0 * * 5L",
            "0 0 0 ? * FRI#3",
            "0 0 0 * * 7",
            "0 0 0 1 jan sun",
            "@daily",
            "@hourly",
        ] {
            accepts(TimerType::Cron, good);
        }
        for bad in [
            "0 12 * * *",
            "0 0 12 * * MON-FRI 2026",
            "60 * * * * *",
            "* 60 * * * *",
            "* * 24 * * *",
            "* * * 0 * *",
            "* * * 32 * *",
            "* * * * 13 *",
            "* * * * * 8",
            "* * * * * FUN",
            "*/0 * * * * *",
            "0 0 10-8 * * *",
            "0 0 0 L-31 * *",
            "0 0 0 * * FRI#6",
            "0 0 0 * * L",
            "@often",
            "",
        ] {
            refuses(TimerType::Cron, bad);
        }
    }

    #[test]
    fn an_unknown_timer_type_has_its_own_code() {
        let err = TimerExpression::parse("DURATION", "PT1H").unwrap_err();
        assert_eq!(err.code(), TimerExpression::UNKNOWN_TYPE);
        assert!(err.reason.contains("DATE, CYCLE, CRON"), "{err}");
        assert_eq!(TimerExpression::parse("CRON", "@daily").unwrap().timer_type(), TimerType::Cron);
    }

    #[test]
    fn timer_ids_are_the_process_id_and_the_node_id() {
        let id = TimerId::parse("loan-process.timer_1.a").unwrap();
        assert_eq!(id.process.as_str(), "loan-process");
        assert_eq!(id.node_id.as_str(), "timer_1.a");
        assert_eq!(id.to_string(), "loan-process.timer_1.a");
        for bad in ["no-dot", ".node", "process.", "pro/cess.node", "process.no de"] {
            assert_eq!(TimerId::parse(bad).unwrap_err().field, "timerId", "{bad}");
        }
    }

    #[test]
    fn node_ids_are_path_safe() {
        assert!(TimerNodeId::parse("17").is_ok());
        let err = TimerNodeId::parse("a/b").unwrap_err();
        assert_eq!(err.code(), BuildTimer::INVALID_TIMER);
    }
}
