//! Tool loans (form 11): a tool is with one technician at a time; it comes back fine, damaged
//! or not at all; what is out past its date is listed as overdue; a technician sees and borrows
//! only for themselves.

use aftersales_platform::proto::fieldservice::v1 as pb;
use tonic::Code;

use crate::helpers::{fields, spawn_app};

fn lend(key: &str, tool: &str, tech: &str, due: &str) -> pb::LoanToolRequest {
    pb::LoanToolRequest {
        idempotency_key: key.into(),
        tool_id: tool.into(),
        tool_name: "Panel suction lifter".into(),
        technician_id: tech.into(),
        work_order_no: String::new(),
        due_back_date: due.into(),
    }
}

#[tokio::test]
async fn a_tool_goes_to_one_technician_at_a_time_and_comes_back_or_is_written_off() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.technician_of("T-SH01-002", 4).await;
    let mut d = app.dispatcher();

    let loan = d
        .loan_tool(lend("l1", "tool-7", "T-SH01-001", "2026-12-08"))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let replay = d
        .loan_tool(lend("l1", "tool-7", "T-SH01-001", "2026-12-08"))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let twice = d
        .loan_tool(lend("l2", "TOOL-7", "T-SH01-002", "2026-12-08"))
        .await
        .unwrap_err();
    let back = d
        .return_tool(pb::ReturnToolRequest {
            loan_id: loan.loan_id.clone(),
            return_condition: String::new(),
            outcome: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let back_again = d
        .return_tool(pb::ReturnToolRequest {
            loan_id: loan.loan_id.clone(),
            return_condition: "scratched".into(),
            outcome: pb::ToolLoanStatus::Damaged as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let second = d
        .loan_tool(lend("l3", "TOOL-7", "T-SH01-002", "2026-12-09"))
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();
    let lost_without_word = d
        .return_tool(pb::ReturnToolRequest {
            loan_id: second.loan_id.clone(),
            return_condition: String::new(),
            outcome: pb::ToolLoanStatus::Lost as i32,
        })
        .await
        .unwrap_err();
    let lost = d
        .return_tool(pb::ReturnToolRequest {
            loan_id: second.loan_id.clone(),
            return_condition: "left at a customer's, not found".into(),
            outcome: pb::ToolLoanStatus::Lost as i32,
        })
        .await
        .unwrap()
        .into_inner()
        .loan
        .unwrap();

    assert_eq!(loan.tool_id, "TOOL-7");
    assert_eq!(loan.status, pb::ToolLoanStatus::Out as i32);
    assert_eq!(replay.loan_id, loan.loan_id, "the same key lends once");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert_eq!(
        (back.status, back.return_condition.as_str()),
        (pb::ToolLoanStatus::Returned as i32, "ok")
    );
    assert_eq!(
        back_again, back,
        "returning a returned loan changes nothing"
    );
    assert_eq!(fields(&lost_without_word), ["return_condition"]);
    assert_eq!(lost.status, pb::ToolLoanStatus::Lost as i32);
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM tool_loans").await,
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn loans_out_past_their_date_are_listed_as_overdue_and_a_technician_sees_only_their_own() {
    let app = spawn_app().await;
    app.technician_of("T-SH01-001", 4).await;
    app.technician_of("T-SH01-002", 4).await;
    let mut d = app.dispatcher();
    d.loan_tool(lend("a", "TOOL-1", "T-SH01-001", "2026-12-07"))
        .await
        .unwrap();
    d.loan_tool(lend("b", "TOOL-2", "T-SH01-001", "2026-12-10"))
        .await
        .unwrap();
    d.loan_tool(lend("c", "TOOL-3", "T-SH01-002", "2026-12-07"))
        .await
        .unwrap();
    let mut t1 = app.technician("T-SH01-001", "SH01");
    let for_someone_else = t1
        .loan_tool(lend("d", "TOOL-4", "T-SH01-002", "2026-12-10"))
        .await
        .unwrap_err();

    // Tuesday: what was due on Monday is overdue.
    app.clock().advance(chrono::Duration::days(1));
    let overdue = d
        .list_tool_loans(pb::ListToolLoansRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mine = t1
        .list_tool_loans(pb::ListToolLoansRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut page = d
        .list_tool_loans(pb::ListToolLoansRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let rest = d
        .list_tool_loans(pb::ListToolLoansRequest {
            page_size: 2,
            page_token: std::mem::take(&mut page.next_page_token),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let tools = |r: &pb::ListToolLoansResponse| -> Vec<String> {
        r.loans.iter().map(|l| l.tool_id.clone()).collect()
    };
    assert_eq!(for_someone_else.code(), Code::FailedPrecondition);
    assert_eq!(tools(&overdue), ["TOOL-3", "TOOL-1"]);
    assert!(overdue.loans.iter().all(|l| l.overdue));
    assert_eq!(tools(&mine), ["TOOL-2", "TOOL-1"]);
    assert_eq!(tools(&page), ["TOOL-3", "TOOL-2"]);
    assert_eq!(tools(&rest), ["TOOL-1"]);
    assert_eq!(rest.next_page_token, "");
    app.stop().await;
}
