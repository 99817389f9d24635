//! The repair status board (form 05) as a state machine. A work order starts NEW; before the
//! visit it waits for parts, is scheduled and dispatched; on site the board's columns follow
//! (IN_REPAIR, WAITING_PARTS, MACHINING, AWAITING_REPLY, STOPPED) until DONE; a cancelled
//! request ends it CANCELLED from any open status.
//!
//! Each entry to a status is made by one kind of [`Move`]: SCHEDULED only by booking an
//! appointment, EN_ROUTE only by dispatch, DONE only by completion, CANCELLED only by the
//! request's cancellation; people move the other columns on the board. Whether the technician
//! has arrived changes what the board allows (parts awaited before the visit end in NEW or
//! SCHEDULED; after it, in repair).

use serde::{Deserialize, Serialize};

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    New,
    Scheduled,
    EnRoute,
    OnSite,
    InRepair,
    WaitingParts,
    Machining,
    AwaitingReply,
    Stopped,
    Done,
    Cancelled,
}

/// How a work order moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Move {
    /// A person moves the card on the board (`UpdateStatus`).
    Board,
    /// An appointment is booked or moved (`ScheduleAppointment`).
    Schedule,
    /// The technician sets off (`Dispatch`).
    Dispatch,
    /// The job is completed (`CompleteWorkOrder`).
    Complete,
    /// A failed exit inspection sends a completed job back to repair.
    Reopen,
    /// The request was cancelled.
    Cancel,
    /// A new job needs parts that are on their way.
    AwaitParts,
    /// The parts it waited for were delivered.
    PartsDelivered,
}

impl Status {
    /// In the enum's (and the board's) order.
    pub const ALL: [Status; 11] = [
        Status::New,
        Status::Scheduled,
        Status::EnRoute,
        Status::OnSite,
        Status::InRepair,
        Status::WaitingParts,
        Status::Machining,
        Status::AwaitingReply,
        Status::Stopped,
        Status::Done,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Scheduled => "SCHEDULED",
            Status::EnRoute => "EN_ROUTE",
            Status::OnSite => "ON_SITE",
            Status::InRepair => "IN_REPAIR",
            Status::WaitingParts => "WAITING_PARTS",
            Status::Machining => "MACHINING",
            Status::AwaitingReply => "AWAITING_REPLY",
            Status::Stopped => "STOPPED",
            Status::Done => "DONE",
            Status::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still to be worked on (not DONE, not CANCELLED).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Done | Status::Cancelled)
    }

    /// Statuses a board move needs a reason for.
    pub fn needs_note(self) -> bool {
        matches!(
            self,
            Status::Stopped | Status::WaitingParts | Status::AwaitingReply
        )
    }

    /// Whether a person may move a card *to* this status on the board (the others have their
    /// own operation).
    pub fn is_board_target(self) -> bool {
        !matches!(
            self,
            Status::Scheduled | Status::EnRoute | Status::Done | Status::Cancelled
        )
    }
}

/// Where a person may move a card from `from` on the board.
fn board_targets(from: Status, arrived: bool) -> &'static [Status] {
    use Status::*;
    match (from, arrived) {
        (New, _) => &[WaitingParts, AwaitingReply, Stopped],
        (WaitingParts, false) => &[New, AwaitingReply, Stopped],
        (WaitingParts, true) => &[InRepair, AwaitingReply, Stopped],
        (Scheduled, _) => &[WaitingParts, AwaitingReply, Stopped],
        (EnRoute, _) => &[OnSite, Stopped],
        (OnSite, _) => &[InRepair, WaitingParts, AwaitingReply, Stopped],
        (InRepair, _) => &[WaitingParts, Machining, AwaitingReply, Stopped],
        (Machining, _) => &[InRepair, AwaitingReply, Stopped],
        (AwaitingReply, false) => &[New, WaitingParts, Stopped],
        (AwaitingReply, true) => &[InRepair, WaitingParts, Machining, Stopped],
        (Stopped, false) => &[New, WaitingParts, AwaitingReply],
        (Stopped, true) => &[InRepair, WaitingParts, AwaitingReply],
        (Done | Cancelled, _) => &[],
    }
}

/// Whether `how` may take a work order from `from` to `to`; `arrived`: the technician has been
/// on site.
pub fn check(from: Status, to: Status, how: Move, arrived: bool) -> Result<(), Refusal> {
    use Status::*;
    let ok = match how {
        Move::Board => to.is_board_target() && board_targets(from, arrived).contains(&to),
        // Booking while parts are on their way keeps the job waiting for them.
        Move::Schedule => {
            matches!(
                from,
                New | WaitingParts | Scheduled | EnRoute | AwaitingReply | Stopped
            ) && matches!(to, Scheduled | WaitingParts)
                && (to == Scheduled || from == WaitingParts)
        }
        Move::Dispatch => from == Scheduled && to == EnRoute,
        Move::Complete => from == InRepair && to == Done,
        Move::Reopen => from == Done && to == InRepair,
        Move::Cancel => from.is_open() && to == Cancelled,
        Move::AwaitParts => from == New && to == WaitingParts,
        Move::PartsDelivered => from == WaitingParts && matches!(to, New | Scheduled),
    };
    if ok {
        return Ok(());
    }
    let why = match (from, how) {
        (Cancelled, _) => "the work order was cancelled".to_owned(),
        (Done, Move::Board) => "the work order is done".to_owned(),
        (_, Move::Board) if !to.is_board_target() => format!(
            "{} is not set on the board: {}",
            to.as_str(),
            match to {
                Scheduled => "book an appointment (ScheduleAppointment)",
                EnRoute => "dispatch the technician (Dispatch)",
                Done => "complete the work order (CompleteWorkOrder)",
                _ => "it follows the request's cancellation",
            }
        ),
        _ => format!("{} cannot move to {}", from.as_str(), to.as_str()),
    };
    Err(Refusal::State(why))
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;
    use proptest::prelude::*;

    const MOVES: [Move; 8] = [
        Move::Board,
        Move::Schedule,
        Move::Dispatch,
        Move::Complete,
        Move::Reopen,
        Move::Cancel,
        Move::AwaitParts,
        Move::PartsDelivered,
    ];

    #[test]
    fn the_installation_path_is_allowed_step_by_step() {
        let steps = [
            (New, WaitingParts, Move::AwaitParts, false),
            (WaitingParts, New, Move::PartsDelivered, false),
            (New, Scheduled, Move::Schedule, false),
            (Scheduled, EnRoute, Move::Dispatch, false),
            (EnRoute, OnSite, Move::Board, false),
            (OnSite, InRepair, Move::Board, true),
            (InRepair, Done, Move::Complete, true),
        ];
        for (from, to, how, arrived) in steps {
            assert!(check(from, to, how, arrived).is_ok(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn illegal_moves_are_refused_with_a_reason() {
        assert!(check(New, InRepair, Move::Board, false).is_err());
        assert!(
            check(New, Done, Move::Board, false)
                .unwrap_err()
                .to_string()
                .contains("CompleteWorkOrder")
        );
        assert!(check(Scheduled, OnSite, Move::Board, false).is_err());
        assert!(
            check(Cancelled, New, Move::Board, false)
                .unwrap_err()
                .to_string()
                .contains("cancelled")
        );
        assert!(check(Done, Cancelled, Move::Cancel, true).is_err());
        assert!(check(OnSite, EnRoute, Move::Dispatch, true).is_err());
    }

    #[test]
    fn scheduling_while_parts_are_on_their_way_keeps_the_job_waiting() {
        assert!(check(WaitingParts, WaitingParts, Move::Schedule, false).is_ok());
        assert!(check(New, WaitingParts, Move::Schedule, false).is_err());
        assert!(check(WaitingParts, Scheduled, Move::PartsDelivered, false).is_ok());
    }

    fn status() -> impl Strategy<Value = Status> {
        proptest::sample::select(Status::ALL.to_vec())
    }

    fn a_move() -> impl Strategy<Value = Move> {
        proptest::sample::select(MOVES.to_vec())
    }

    proptest! {
        #[test]
        fn nothing_leaves_cancelled(to in status(), how in a_move(), arrived: bool) {
            prop_assert!(check(Cancelled, to, how, arrived).is_err());
        }

        #[test]
        fn done_is_entered_only_by_completion_and_left_only_by_a_failed_inspection(
            from in status(), to in status(), how in a_move(), arrived: bool
        ) {
            if check(from, to, how, arrived).is_ok() {
                if to == Done && from != Done { prop_assert_eq!(how, Move::Complete); }
                if from == Done { prop_assert_eq!((how, to), (Move::Reopen, InRepair)); }
                if to == Cancelled { prop_assert_eq!(how, Move::Cancel); }
                if to == EnRoute { prop_assert_eq!(how, Move::Dispatch); }
                if to == Scheduled && how != Move::PartsDelivered {
                    prop_assert_eq!(how, Move::Schedule);
                }
                if how == Move::Board { prop_assert!(to.is_board_target()); }
            }
        }

        #[test]
        fn every_open_status_can_be_cancelled(from in status(), arrived: bool) {
            prop_assert_eq!(check(from, Cancelled, Move::Cancel, arrived).is_ok(), from.is_open());
        }

        #[test]
        fn a_random_walk_of_allowed_moves_stays_on_the_board(
            picks in proptest::collection::vec((status(), a_move()), 1..60)
        ) {
            let (mut at, mut arrived) = (New, false);
            for (to, how) in picks {
                if check(at, to, how, arrived).is_ok() {
                    arrived |= to == OnSite;
                    at = to;
                }
            }
            // Wherever the walk ended, the job can still be finished or it is over.
            let finishable = !at.is_open()
                || check(at, Cancelled, Move::Cancel, arrived).is_ok();
            prop_assert!(finishable);
        }
    }
}
