//! The small enumerations of a job. Stored as lower-case words; the protobuf numbers are known
//! only to [`crate::wire`].

use serde::{Deserialize, Serialize};

/// Where the customer lives: decides the arrival deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Urban,
    Suburban,
    Remote,
}

impl Region {
    pub const ALL: [Region; 3] = [Region::Urban, Region::Suburban, Region::Remote];

    pub fn as_str(self) -> &'static str {
        match self {
            Region::Urban => "urban",
            Region::Suburban => "suburban",
            Region::Remote => "remote",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    Replacement,
    Repair,
    Return,
    Exchange,
    Installation,
}

/// Who pays for a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Out of warranty: the customer pays what they authorized.
    Paid,
    /// A service contract in force.
    Contract,
    /// In warranty.
    Free,
    /// The company's own job; no customer request.
    Internal,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Paid => "paid",
            Category::Contract => "contract",
            Category::Free => "free",
            Category::Internal => "internal",
        }
    }
}

/// Warranty coverage of a part line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Free,
    Paid,
    Contract,
}
