//! What the document says beyond the wire types: the identifiers by the mesh's one rule
//! (`aftersales_platform::ids`) as patterns a client can check before sending (and the gateway
//! checks, from the same document: [`crate::contract`]), the operations' branch scopes, and the
//! problem responses every operation names by status.

use std::borrow::Cow;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// The extension naming whose data an operation serves (see [`Scope`]).
pub const SCOPE_EXTENSION: &str = "x-branch-scope";
/// The extension listing an operation's problem statuses; [`crate::api::Shared`] turns it into
/// responses and removes it.
pub const PROBLEMS_EXTENSION: &str = "x-problems";
/// The bearer scheme's name; its scopes are role names.
pub const BEARER: &str = "bearer";

/// Whose data an operation serves, as the document's `x-branch-scope` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No token (the page, the document, a signed webhook).
    Public,
    /// A branch sees only its own: another branch's resource answers 404 and lists hold only
    /// the caller's rows; head office (`branch: "*"`) sees every branch.
    Branch,
    /// The central warehouse's books: only head-office tokens (`branch: "*"`), else 403.
    HeadOffice,
    /// The same for every branch (the catalogue's stock).
    Global,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "public" => Scope::Public,
            "branch" => Scope::Branch,
            "head_office" => Scope::HeadOffice,
            "global" => Scope::Global,
            _ => return None,
        })
    }
}

/// A string schema with a pattern, as a named component.
macro_rules! pattern_schema {
    ($(#[$m:meta])* $name:ident, $pattern:expr, $max:expr, $example:expr, $description:expr) => {
        pattern_schema!($(#[$m])* $name, $pattern, $max, $example, $description, None);
    };
    ($(#[$m:meta])* $name:ident, $pattern:expr, $max:expr, $example:expr, $description:expr, $format:expr) => {
        $(#[$m])*
        pub struct $name;
        impl $name {
            pub const PATTERN: &'static str = $pattern;
        }
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .max_length($max)
                    .format($format)
                    .description(Some($description))
                    .examples([$example])
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

// Each pattern admits exactly what the platform's parser accepts (surrounding blanks are
// trimmed and letters upper-cased there), so a string is valid here exactly when it is valid in
// every service.
pattern_schema!(
    /// `AS-<YYMM>-<branch>-<6 digits, not all zero>`.
    RequestNo,
    r"^[ \t\n\r\x0B\x0C]*[Aa][Ss]-[0-9]{2}(0[1-9]|1[0-2])-[A-Za-z][A-Za-z0-9]{1,7}-([1-9][0-9]{5}|0[1-9][0-9]{4}|00[1-9][0-9]{3}|000[1-9][0-9]{2}|0000[1-9][0-9]|00000[1-9])[ \t\n\r\x0B\x0C]*$",
    None,
    "AS-2611-SH01-000042",
    "A tracking number: AS-<YYMM>-<branch>-<sequence>; letters in any case."
);
pattern_schema!(
    PartNo,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z0-9._-]{1,40}[ \t\n\r\x0B\x0C]*$",
    None,
    "PWR-55-01",
    "A catalogue part number: 1-40 of A-Z, 0-9, '-', '_' and '.'; letters in any case."
);
pattern_schema!(
    BranchCode,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z][A-Za-z0-9]{1,7}[ \t\n\r\x0B\x0C]*$",
    None,
    "SH01",
    "A branch code: 2-8 letters and digits starting with a letter."
);
pattern_schema!(
    Phone,
    r"^[ \t\n\r\x0B\x0C]*\+?[ ()-]*([0-9][ ()-]*){5,20}[ \t\n\r\x0B\x0C]*$",
    None,
    "+86 138 0013 8000",
    "A phone number: 5-20 digits with spaces, '-', '(' and ')'; '+' only first."
);
pattern_schema!(
    Serial,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z0-9./_-]{1,64}[ \t\n\r\x0B\x0C]*$",
    None,
    "SN12345678",
    "A serial number, IMEI or VIN as printed: 1-64 letters, digits, '-', '.', '/' or '_'."
);
pattern_schema!(
    PickListId,
    r"^[ \t\n\r\x0B\x0C]*[Pp][Ll]-[Aa][Ss]-[0-9]{2}(0[1-9]|1[0-2])-[A-Za-z][A-Za-z0-9]{1,7}-([1-9][0-9]{5}|0[1-9][0-9]{4}|00[1-9][0-9]{3}|000[1-9][0-9]{2}|0000[1-9][0-9]|00000[1-9])(-[Rr][1-9][0-9]{0,3})?[ \t\n\r\x0B\x0C]*$",
    None,
    "PL-AS-2611-SH01-000042",
    "A pick list: PL- and the request number it serves; a replacement for a lost or damaged shipment adds -R<n> (PL-AS-2611-SH01-000042-R1)."
);
pattern_schema!(
    PhotoUrl,
    r"^https?://[^ \x00-\x1F\x7F-\xA0]+$",
    Some(2048),
    "https://photos.example/1.jpg",
    "An http(s) link to a photo."
);
pattern_schema!(
    /// Receipts and stocktakes are named by the warehouse; the gateway passes them on.
    DocumentId,
    r"^[A-Za-z0-9._:-]{1,64}$",
    None,
    "RC-0193a5c2",
    "An identifier the warehouse issued (a receipt or a stocktake)."
);
pattern_schema!(
    IdempotencyKey,
    r"^([A-Za-z0-9._:-]{1,128})?$",
    None,
    "6f1c2a9e-3b7d-4c1e-9a55-2f0d8e4b7c10",
    "A key of the client's choosing (a UUID is fine): a retry with the same key and body gets the first answer (header Idempotent-Replayed: true) for 24 h; the same key with another body answers 422. Empty is no key."
);
pattern_schema!(
    /// A strong entity tag carrying a version.
    EntityTag,
    r#"^("[1-9][0-9]{0,18}")?$"#,
    None,
    "\"3\"",
    "The ETag of the version the client saw, quoted: \"3\". Empty is none."
);
pattern_schema!(
    Date,
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    None,
    "2026-10-02",
    "A calendar date, YYYY-MM-DD.",
    Some(SchemaFormat::KnownFormat(KnownFormat::Date))
);
pattern_schema!(
    /// Text a person types: a required one has something besides blanks; control characters
    /// other than newline and tab are refused everywhere.
    Text,
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
    None,
    "no picture",
    "Free text without control characters (newlines and tabs allowed)."
);

pattern_schema!(
    /// Procurement's register: `SUP-HUAXIN`, `SUP-000042`.
    SupplierId,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z0-9_-]{1,40}[ \t\n\r\x0B\x0C]*$",
    None,
    "SUP-HUAXIN",
    "A supplier: 1-40 of A-Z, 0-9, '-' and '_'; letters in any case."
);
pattern_schema!(
    PoNumber,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z0-9-]{1,64}[ \t\n\r\x0B\x0C]*$",
    None,
    "PO-2611-000123",
    "A purchase order number as procurement issued it (PO-<YYMM>-<sequence>)."
);
pattern_schema!(
    ShipmentNo,
    r"^[ \t\n\r\x0B\x0C]*[Ss][Hh]-[0-9]{4}-[0-9]{6}[ \t\n\r\x0B\x0C]*$",
    None,
    "SH-2611-000042",
    "A shipment: SH-<YYMM>-<6 digits>; letters in any case."
);
pattern_schema!(
    PickupNo,
    r"^[ \t\n\r\x0B\x0C]*[Pp][Uu]-[0-9]{4}-[0-9]{6}[ \t\n\r\x0B\x0C]*$",
    None,
    "PU-2611-000007",
    "A return pick-up: PU-<YYMM>-<6 digits>; letters in any case."
);
pattern_schema!(
    WorkOrderNo,
    r"^[ \t\n\r\x0B\x0C]*[Ww][Oo]-[0-9]{2}(0[1-9]|1[0-2])-[A-Za-z][A-Za-z0-9]{1,7}-([1-9][0-9]{5}|0[1-9][0-9]{4}|00[1-9][0-9]{3}|000[1-9][0-9]{2}|0000[1-9][0-9]|00000[1-9])[ \t\n\r\x0B\x0C]*$",
    None,
    "WO-2611-SH01-000042",
    "A work order: WO-<YYMM>-<branch>-<6 digits, not all zero>; letters in any case."
);
pattern_schema!(
    /// Field service's codes: technicians (a technician's token `sub` is their id), tools.
    Code,
    r"^[ \t\n\r\x0B\x0C]*[A-Za-z0-9._-]{1,40}[ \t\n\r\x0B\x0C]*$",
    None,
    "T-SH01-001",
    "A code: 1-40 of A-Z, 0-9, '-', '_' and '.'; letters in any case."
);
pattern_schema!(
    /// Visits, complaints, loans, changes, exceptions, returns, quotes: named by their service.
    Id,
    r"^[A-Za-z0-9._:-]{1,64}$",
    None,
    "V-0193a5c2",
    "An identifier a service issued (a visit, complaint, loan, change, exception, return …)."
);
pattern_schema!(
    Month,
    r"^[0-9]{4}-(0[1-9]|1[0-2])$",
    None,
    "2026-11",
    "A calendar month, YYYY-MM, in the department's local time."
);
pattern_schema!(
    /// A reporting period of feedback's figures.
    PeriodName,
    r"^[0-9]{4}(-(0[1-9]|1[0-2])|-W(0[1-9]|[1-4][0-9]|5[0-3])|-Q[1-4])?$",
    None,
    "2026-11",
    "A period in the department's local time: a year (2026), quarter (2026-Q4), month (2026-11) or ISO week (2026-W48)."
);
pattern_schema!(
    /// A period of the top-returned-parts report.
    WeekOrMonth,
    r"^[0-9]{4}-((0[1-9]|1[0-2])|W(0[1-9]|[1-4][0-9]|5[0-3]))$",
    None,
    "2026-11",
    "A month (2026-11) or an ISO week (2026-W48), in the department's local time."
);
pattern_schema!(
    /// A dealer's or agent's code.
    DealerCode,
    r"^[A-Z][A-Z0-9-]{1,31}$",
    None,
    "D-SH01-0001",
    "A dealer's or agent's code: 2-32 of A-Z, 0-9 and '-', starting with a letter."
);
pattern_schema!(
    /// An id the mesh issued as a UUID (a dealer batch).
    Uuid,
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    None,
    "0193a5c2-7d1e-7c3a-9f00-2b5e8d0c4a11",
    "A UUID the service issued."
);
pattern_schema!(
    /// A dealer's box of old parts, as the warehouse numbered it.
    OldPartBatchId,
    r"^OPB-[0-9a-f]{32}$",
    None,
    "OPB-0193a5c27d1e7c3a9f002b5e8d0c4a11",
    "An old-part batch: OPB- and 32 hex digits."
);
pattern_schema!(
    /// An advance exchange, as the warehouse numbered it.
    ExchangeId,
    r"^AX-[0-9a-f]{32}$",
    None,
    "AX-0193a5c27d1e7c3a9f002b5e8d0c4a11",
    "An advance exchange: AX- and 32 hex digits."
);
pattern_schema!(
    /// A dealer's parts order, as the warehouse numbered it.
    DealerOrderId,
    r"^DO-[0-9a-f]{32}$",
    None,
    "DO-0193a5c27d1e7c3a9f002b5e8d0c4a11",
    "A dealer's parts order: DO- and 32 hex digits."
);
pattern_schema!(
    /// What logistics ships to a dealer: a parts order (DO-) or an advance exchange (AX-).
    ConsignmentId,
    r"^(DO|AX)-[0-9a-f]{32}$",
    None,
    "DO-0193a5c27d1e7c3a9f002b5e8d0c4a11",
    "A dealer's parts order (DO-) or advance exchange (AX-) and 32 hex digits."
);
pattern_schema!(
    Currency,
    r"^[A-Z]{3}$",
    None,
    "CNY",
    "An ISO 4217 currency code."
);
pattern_schema!(
    /// A carrier's code in its webhook's path.
    CarrierCode,
    r"^[a-z0-9_-]{1,32}$",
    None,
    "sf",
    "The carrier's configured name."
);

pattern_schema!(
    /// A skill of a technician: a product category.
    Skill,
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
    Some(60),
    "television",
    "A product category the technician repairs (something besides blanks, no control characters)."
);
pattern_schema!(
    Territory,
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
    Some(100),
    "Pudong",
    "A district or postcode (something besides blanks, no control characters)."
);
pattern_schema!(
    /// A required short line: a checklist entry, an item handed over.
    TextLine,
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
    Some(200),
    "remote control",
    "A line of text: something besides blanks, no control characters, at most 200 characters."
);
pattern_schema!(
    /// An optional short line: a certificate's number.
    OptionalLine,
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$",
    Some(200),
    "ISO 9001:2015",
    "A line of text without control characters, at most 200 characters."
);

/// A required line of text of at most `max` characters (something besides blanks).
pub const REQUIRED_TEXT: &str =
    r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";
/// Optional text: no control characters but newline and tab.
pub const OPTIONAL_TEXT: &str = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$";

/// A lower-case wire enumeration, as a string enum in the document.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($text => Some($name::$variant),)+ _ => None } }
        }
    };
}

text_enum!(
    /// Where a unit sits in the warehouse.
    Zone {
        Qualified = "qualified",
        PendingInspection = "pending_inspection",
        Nonconforming = "nonconforming",
        Valuables = "valuables",
        OldParts = "old_parts",
        Turnover = "turnover",
    }
);
text_enum!(
    /// What moved stock.
    MovementKind {
        Receipt = "receipt",
        InspectionPass = "inspection_pass",
        InspectionFail = "inspection_fail",
        Issue = "issue",
        OldPartReturn = "old_part_return",
        ReturnToSupplier = "return_to_supplier",
        Transfer = "transfer",
        StocktakeAdjustment = "stocktake_adjustment",
        CustomerReturn = "customer_return",
        ReturnInspection = "return_inspection",
        AdvanceExchange = "advance_exchange",
    }
);
text_enum!(BackorderStatus {
    Open = "open",
    Served = "served",
    Cancelled = "cancelled",
});
text_enum!(ReceiptStatus {
    PendingInspection = "pending_inspection",
    Inspected = "inspected",
});
text_enum!(ReturnStatus {
    Received = "received",
    Inspected = "inspected",
});
text_enum!(PickListStatus {
    Open = "open",
    Issued = "issued",
    Cancelled = "cancelled",
});
text_enum!(StocktakeStatus {
    Open = "open",
    Closed = "closed",
});
text_enum!(ClaimStatus {
    Pending = "pending",
    Approved = "approved",
    Rejected = "rejected",
    InfoRequested = "info_requested",
    Cancelled = "cancelled",
});
text_enum!(Recommendation {
    Approve = "approve",
    Reject = "reject",
    Review = "review",
});
text_enum!(
    /// Why a claim is rejected.
    RejectReason {
        NonReturnableCategory = "non_returnable_category",
        ReturnWindowExpired = "return_window_expired",
        ExchangeWindowExpired = "exchange_window_expired",
        InvalidDocuments = "invalid_documents",
        SerialMismatch = "serial_mismatch",
        Duplicate = "duplicate",
        PaidServiceDeclined = "paid_service_declined",
        InfoNotProvided = "info_not_provided",
        NoFaultFound = "no_fault_found",
        FraudSuspected = "fraud_suspected",
        Other = "other",
    }
);
text_enum!(
    /// What a reviewer can ask the branch for.
    MissingInfo {
        Invoice = "invoice",
        Receipt = "receipt",
        Photos = "photos",
        Serial = "serial",
        PurchaseDate = "purchase_date",
        ServiceContract = "service_contract",
        FaultDescription = "fault_description",
        Payment = "payment",
        PartNumbers = "part_numbers",
        Other = "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use aftersales_platform::ids;

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(s)
    }

    #[test]
    fn the_identifier_patterns_accept_exactly_what_the_platform_parses() {
        for s in [
            "AS-2611-SH01-000042",
            "as-2611-sh01-000042",
            " AS-2611-SH01-000042 ",
            "AS-2613-SH01-000042",
            "AS-2611-SH01-000000",
            "AS-2611-SH-01-000042",
            "AS-2611-1SH-000042",
            "REQ-42",
            "AS-2611-SH01-0000420",
            "AS-2600-SH01-000001",
            "AS-2612-SHANGHAI-999999",
        ] {
            assert_eq!(
                matches(RequestNo::PATTERN, s),
                ids::RequestNo::parse(s).is_ok(),
                "{s:?}"
            );
        }
        for s in [
            "PWR-55-01",
            "pwr-55-01",
            "X_1.2",
            "A",
            &"A".repeat(40),
            &"A".repeat(41),
            "PWR 55",
            "PWR#1",
            "PWR/1",
            "",
        ] {
            assert_eq!(
                matches(PartNo::PATTERN, s),
                ids::PartNo::parse(s).is_ok(),
                "{s:?}"
            );
        }
        for s in [
            "SH01",
            "sh01",
            "GZ03",
            "S",
            "1SH",
            "SH-01",
            "SHANGHAI1",
            "SH 01",
        ] {
            assert_eq!(
                matches(BranchCode::PATTERN, s),
                ids::BranchCode::parse(s).is_ok(),
                "{s:?}"
            );
        }
        for s in [
            "+86 138 0013 8000",
            "(021) 5555-0100",
            "call me maybe",
            "1234",
            "86+1380013800",
            &"1".repeat(21),
            &"1".repeat(20),
        ] {
            assert_eq!(
                matches(Phone::PATTERN, s),
                ids::Phone::parse(s).is_ok(),
                "{s:?}"
            );
        }
    }

    /// Every value a service can answer has its wire text in the document (a claim that became
    /// `cancelled` once answered outside it).
    #[test]
    fn every_proto_enumeration_value_has_its_text_in_the_documents_enumerations() {
        use aftersales_platform::proto::claims::v1 as c;
        use aftersales_platform::proto::warehouse::v1 as w;
        fn all<E: TryFrom<i32>>(name: impl Fn(E) -> &'static str) -> Vec<&'static str> {
            (1..100)
                .filter_map(|i| E::try_from(i).ok())
                .map(name)
                .collect()
        }
        let text = |name: &str, prefix: &str| crate::api::claims::enum_text(name, prefix);
        for n in all::<c::ClaimStatus>(|e| e.as_str_name()) {
            assert!(
                ClaimStatus::parse(&text(n, "CLAIM_STATUS_")).is_some(),
                "{n}"
            );
        }
        for n in all::<c::Recommendation>(|e| e.as_str_name()) {
            assert!(
                Recommendation::parse(&text(n, "RECOMMENDATION_")).is_some(),
                "{n}"
            );
        }
        for n in all::<c::RejectReason>(|e| e.as_str_name()) {
            assert!(
                RejectReason::parse(&text(n, "REJECT_REASON_")).is_some(),
                "{n}"
            );
        }
        for n in all::<c::MissingInfo>(|e| e.as_str_name()) {
            assert!(
                MissingInfo::parse(&text(n, "MISSING_INFO_")).is_some(),
                "{n}"
            );
        }
        for n in all::<w::Zone>(|e| e.as_str_name()) {
            assert!(Zone::parse(&text(n, "ZONE_")).is_some(), "{n}");
        }
        for n in all::<w::MovementKind>(|e| e.as_str_name()) {
            assert!(
                MovementKind::parse(&text(n, "MOVEMENT_KIND_")).is_some(),
                "{n}"
            );
        }
        for n in all::<w::BackorderStatus>(|e| e.as_str_name()) {
            assert!(
                BackorderStatus::parse(&text(n, "BACKORDER_STATUS_")).is_some(),
                "{n}"
            );
        }
        for n in all::<w::ReceiptStatus>(|e| e.as_str_name()) {
            assert!(
                ReceiptStatus::parse(&text(n, "RECEIPT_STATUS_")).is_some(),
                "{n}"
            );
        }
        for n in all::<w::PickListStatus>(|e| e.as_str_name()) {
            assert!(
                PickListStatus::parse(&text(n, "PICK_LIST_STATUS_")).is_some(),
                "{n}"
            );
        }
        for n in all::<w::StocktakeStatus>(|e| e.as_str_name()) {
            assert!(
                StocktakeStatus::parse(&text(n, "STOCKTAKE_STATUS_")).is_some(),
                "{n}"
            );
        }
    }

    #[test]
    fn required_text_needs_something_besides_blanks_and_no_control_characters() {
        assert!(matches(REQUIRED_TEXT, "no picture"));
        assert!(matches(REQUIRED_TEXT, " a\nb\t"));
        assert!(!matches(REQUIRED_TEXT, "   "));
        assert!(!matches(REQUIRED_TEXT, ""));
        assert!(!matches(REQUIRED_TEXT, "a\u{1}b"));
        assert!(!matches(OPTIONAL_TEXT, "a\u{7f}"));
        assert!(matches(OPTIONAL_TEXT, ""));
    }
}
