//! What field-service consumes, declared in one place ([`subscriptions`]), one handler file per
//! kind of event: an approved claim opens a work order when someone must come, a cancelled
//! request ends its work orders, delivered parts make a waiting job actionable, an unsolved
//! survey opens a follow-up. The keys are field-service's row of the platform's topology table.

pub mod claim_approved;
pub mod request_cancelled;
pub mod shipment_delivered;
pub mod survey_recorded;

use aftersales_platform::bus::Subscription;

use crate::service::FieldService;

pub fn subscriptions(svc: &FieldService) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "claims.claim.approved",
            claim_approved::ClaimApproved::new(svc),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(svc),
        ),
        Subscription::new(
            "logistics.shipment.delivered",
            shipment_delivered::ShipmentDelivered::new(svc),
        ),
        Subscription::new(
            "feedback.survey.recorded",
            survey_recorded::SurveyRecorded::new(svc),
        ),
    ]
}
