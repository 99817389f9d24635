//! The service's tables. Migrations are plain SQL compiled in; an applied one is never edited.

use aftersales_platform::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    component: "feedback",
    list: &[],
};

/// Every migration this service runs, platform first.
pub const ALL_MIGRATIONS: &[Migrations] = &[aftersales_platform::db::PLATFORM, MIGRATIONS];
