//! The match state machine: the seed's numeric state codes and the one table of allowed
//! transitions. The table is enforced inside `match_transition.lua`, which is handed the allowed
//! from-states of each action from here, so code and script cannot disagree.

use serde::{Deserialize, Serialize};

/// A match state; the numbers are the contract (DESIGN.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i8", try_from = "i8")]
pub enum MatchState {
    Pending = -1,
    NotStarted = 0,
    Stopped = 1,
    Open = 2,
    Settling = 3,
    Settled = 4,
    Closed = 5,
    Cancelled = 6,
    NoResult = 7,
    Refunded = 8,
    Credited = 9,
}

impl MatchState {
    pub const ALL: &'static [MatchState] = &[
        MatchState::Pending,
        MatchState::NotStarted,
        MatchState::Stopped,
        MatchState::Open,
        MatchState::Settling,
        MatchState::Settled,
        MatchState::Closed,
        MatchState::Cancelled,
        MatchState::NoResult,
        MatchState::Refunded,
        MatchState::Credited,
    ];

    pub const fn code(self) -> i8 {
        self as i8
    }

    pub fn from_code(code: i64) -> Option<MatchState> {
        Self::ALL.iter().copied().find(|s| s.code() as i64 == code)
    }

    /// The name clients see as `state_name`.
    pub const fn name(self) -> &'static str {
        match self {
            MatchState::Pending => "pending",
            MatchState::NotStarted => "not_started",
            MatchState::Stopped => "betting_stopped",
            MatchState::Open => "open",
            MatchState::Settling => "settling",
            MatchState::Settled => "settled",
            MatchState::Closed => "closed",
            MatchState::Cancelled => "cancelled",
            MatchState::NoResult => "no_result",
            MatchState::Refunded => "refunded",
            MatchState::Credited => "credited",
        }
    }

    /// Bets are accepted only here.
    pub fn betting(self) -> bool {
        self == MatchState::Open
    }

    /// The index family a match in this state belongs to (`matches:{family}:{type|all}`, or
    /// `matches:pending`). `live` = the match has started.
    pub fn index(self, live: bool) -> Index {
        match self {
            MatchState::Pending => Index::Pending,
            MatchState::NotStarted | MatchState::Stopped | MatchState::Open if !live => Index::List,
            MatchState::Stopped | MatchState::Open | MatchState::Settling => Index::Doing,
            _ => Index::Finished,
        }
    }
}

impl From<MatchState> for i8 {
    fn from(s: MatchState) -> i8 {
        s.code()
    }
}

impl TryFrom<i8> for MatchState {
    type Error = String;
    fn try_from(code: i8) -> Result<Self, String> {
        MatchState::from_code(code as i64).ok_or_else(|| format!("no match state {code}"))
    }
}

/// Which sorted set lists a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    Pending,
    List,
    Doing,
    Finished,
}

impl Index {
    pub const fn name(self) -> &'static str {
        match self {
            Index::Pending => "pending",
            Index::List => "list",
            Index::Doing => "doing",
            Index::Finished => "finished",
        }
    }
}

/// Something that changes a match's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Staff: make a pending match visible.
    Approve,
    /// Staff: open betting.
    Open,
    /// Staff: stop betting for a while.
    Suspend,
    /// Staff: the match has begun (betting stops; the match moves to the live list).
    Start,
    /// Staff: call the match off; stakes are refunded.
    Cancel,
    /// Staff: archive a finished match.
    Close,
    /// Staff: set the winner; resultcenter settles.
    Result,
    /// Staff: the match ended without a result; stakes are refunded.
    NoResult,
    /// resultcenter: every bet is settled.
    Settled,
    /// resultcenter: every payout is delivered.
    Credited,
    /// resultcenter: every stake of a cancelled / no-result match is refunded.
    Refunded,
}

impl Action {
    /// Whether the action, taken on a match, is the whole match's: it is first taken on each of
    /// the match's other markets whose state allows it (approving, starting, cancelling, ending
    /// without a result or archiving a match does so to its markets), then on the match (its
    /// default market). Opening, suspending, odds and results are each market's own.
    pub const fn match_wide(self) -> bool {
        matches!(self, Action::Approve | Action::Start | Action::Cancel | Action::NoResult | Action::Close)
    }
}

/// What a settlement job asks resultcenter to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    Settle,
    Refund,
}

impl Job {
    pub const fn name(self) -> &'static str {
        match self {
            Job::Settle => "settle",
            Job::Refund => "refund",
        }
    }
}

/// What a row asks of whether the match has started ("live").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Live {
    /// Either way.
    Any,
    /// Only before the start; from now on the match counts as started.
    Starts,
    /// Only once the match has started (a result needs a match that was played).
    Required,
}

/// Who may take an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Staff, through gm.
    Staff,
    /// resultcenter, when a match's bets are all settled or refunded.
    Settlement,
}

/// One row of the transition table.
#[derive(Clone, Copy, Debug)]
pub struct Transition {
    pub action: Action,
    /// The URL word, event and audit name of the action.
    pub name: &'static str,
    pub from: &'static [MatchState],
    pub to: MatchState,
    pub live: Live,
    pub by: Actor,
    /// A job for resultcenter, queued in the same script.
    pub job: Option<Job>,
}

const fn row(
    action: Action,
    name: &'static str,
    from: &'static [MatchState],
    to: MatchState,
    live: Live,
    by: Actor,
    job: Option<Job>,
) -> Transition {
    Transition { action, name, from, to, live, by, job }
}

use Actor::{Settlement, Staff};
use MatchState::*;

/// THE table: every allowed change of state. Anything else is refused (HTTP 409).
pub const TRANSITIONS: &[Transition] = &[
    row(Action::Approve, "approve", &[Pending], NotStarted, Live::Any, Staff, None),
    row(Action::Open, "open", &[NotStarted, Stopped], Open, Live::Any, Staff, None),
    row(Action::Suspend, "suspend", &[Open], Stopped, Live::Any, Staff, None),
    row(Action::Start, "start", &[NotStarted, Stopped, Open], Stopped, Live::Starts, Staff, None),
    row(
        Action::Cancel,
        "cancel",
        &[Pending, NotStarted, Stopped, Open],
        Cancelled,
        Live::Any,
        Staff,
        Some(Job::Refund),
    ),
    row(Action::Close, "close", &[Settled, Credited, Refunded], Closed, Live::Any, Staff, None),
    row(Action::Result, "result", &[Stopped], Settling, Live::Required, Staff, Some(Job::Settle)),
    row(Action::NoResult, "no_result", &[Stopped], NoResult, Live::Required, Staff, Some(Job::Refund)),
    row(Action::Settled, "settled", &[Settling], Settled, Live::Any, Settlement, None),
    row(Action::Credited, "credited", &[Settled], Credited, Live::Any, Settlement, None),
    row(Action::Refunded, "refunded", &[Cancelled, NoResult], Refunded, Live::Any, Settlement, None),
];

impl Transition {
    /// Whether the row applies to a match in `state` (`live`: it has started).
    pub fn allows(&self, state: MatchState, live: bool) -> bool {
        self.from.contains(&state)
            && match self.live {
                Live::Any => true,
                Live::Starts => !live,
                Live::Required => live,
            }
    }

    /// How match_transition.lua is told about liveness.
    pub fn live_rule(&self) -> &'static str {
        match self.live {
            Live::Any => "any",
            Live::Starts => "starts",
            Live::Required => "required",
        }
    }
}

/// The row of `action`.
pub fn transition(action: Action) -> &'static Transition {
    TRANSITIONS.iter().find(|t| t.action == action).expect("every action has a row")
}

/// The actions staff may take on a match in `state` (listed in views, named in a 409); `live` =
/// the match has started.
pub fn allowed_from(state: MatchState, live: bool) -> Vec<&'static str> {
    TRANSITIONS.iter().filter(|t| t.by == Staff && t.allows(state, live)).map(|t| t.name).collect()
}

/// States in which a match (or market) takes an edit at all: all but closed.
pub const EDITABLE: &[MatchState] =
    &[Pending, NotStarted, Stopped, Open, Settling, Settled, Cancelled, NoResult, Refunded, Credited];

/// States in which a match's start time and type may change (it must not have started, too).
pub const MOVABLE: &[MatchState] = &[Pending, NotStarted, Stopped, Open];

/// States in which betting terms (options, limits) may change: betting has never opened, so no
/// bet holds them.
pub const TERMS_EDITABLE: &[MatchState] = &[Pending, NotStarted];

/// States in which odds may still change.
pub const ODDS_EDITABLE: &[MatchState] = &[Pending, NotStarted, Stopped, Open];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_row_and_terminal_states_are_terminal() {
        for t in TRANSITIONS {
            assert_eq!(TRANSITIONS.iter().filter(|u| u.action == t.action).count(), 1, "{}", t.name);
            assert!(t.live == Live::Starts || !t.from.contains(&t.to), "{} loops", t.name);
        }
        assert!(allowed_from(Closed, true).is_empty(), "closed is final");
        assert_eq!(allowed_from(Open, false), vec!["suspend", "start", "cancel"]);
        assert_eq!(allowed_from(Open, true), vec!["suspend", "cancel"], "a live match cannot start again");
        assert_eq!(allowed_from(Stopped, false), vec!["open", "start", "cancel"], "no result before the start");
        assert_eq!(allowed_from(Stopped, true), vec!["open", "cancel", "result", "no_result"]);
        assert!(allowed_from(Settling, true).is_empty(), "what follows is resultcenter's, not staff's");
        assert!(Open.betting() && !Stopped.betting());
    }

    #[test]
    fn indexes_follow_state_and_liveness() {
        assert_eq!(Pending.index(false), Index::Pending);
        assert_eq!(Open.index(false), Index::List);
        assert_eq!(Open.index(true), Index::Doing);
        assert_eq!(Stopped.index(true), Index::Doing);
        assert_eq!(Settling.index(true), Index::Doing);
        assert_eq!(Settled.index(true), Index::Finished);
        assert_eq!(Cancelled.index(false), Index::Finished);
    }

    #[test]
    fn codes_round_trip_through_serde() {
        for s in MatchState::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, s.code().to_string());
            assert_eq!(serde_json::from_str::<MatchState>(&json).unwrap(), *s);
        }
        assert!(serde_json::from_str::<MatchState>("10").is_err());
    }
}
