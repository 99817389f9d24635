//! Intake's tables: requests, tracking sequences, the timeline read model and the photo
//! records. Query functions take the connection or transaction they run in.

pub mod notifications;
pub mod photos;
pub mod requests;
pub mod timeline;

use aftersales_platform::db::{Migration, Migrations};

pub const MIGRATIONS: Migrations = Migrations {
    component: "intake",
    list: &[
        Migration {
            version: 1,
            name: "requests_and_timeline",
            sql: include_str!("store/migrations/0001_requests_and_timeline.sql"),
        },
        Migration {
            version: 2,
            name: "last_step",
            sql: include_str!("store/migrations/0002_last_step.sql"),
        },
        Migration {
            version: 3,
            name: "notifications",
            sql: include_str!("store/migrations/0003_notifications.sql"),
        },
        Migration {
            version: 4,
            name: "photos",
            sql: include_str!("store/migrations/0004_photos.sql"),
        },
    ],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[aftersales_platform::db::PLATFORM, MIGRATIONS];
