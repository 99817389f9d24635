use aftersales_platform::db::{self, Migration, Migrations};
use aftersales_platform::testing::TestDb;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

const V1: Migrations = Migrations {
    component: "sample",
    list: &[Migration {
        version: 1,
        name: "widgets",
        sql: "CREATE TABLE widgets (id INT PRIMARY KEY)",
    }],
};
const V1_EDITED: Migrations = Migrations {
    component: "sample",
    list: &[Migration {
        version: 1,
        name: "widgets",
        sql: "CREATE TABLE widgets (id BIGINT PRIMARY KEY)",
    }],
};

async fn count(db: &TestDb, sql: &str) -> i64 {
    let row = db
        .conn
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn replicas_migrating_at_once_apply_each_migration_exactly_once() {
    let db = TestDb::create(&[db::PLATFORM]).await;
    let runs = (0..6).map(|_| {
        let conn = db.conn.clone();
        tokio::spawn(async move { db::migrate(&conn, &[db::PLATFORM, V1]).await })
    });
    let applied: usize = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("migration under the advisory lock"))
        .sum();
    assert_eq!(
        applied, 1,
        "six concurrent migrators applied the one new migration once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint FROM schema_migrations WHERE component = 'sample'"
        )
        .await,
        1
    );
    assert!(db::migrations_done(&db.conn, &[db::PLATFORM, V1]).await);
}

#[tokio::test]
async fn an_applied_migration_that_was_edited_is_refused() {
    let db = TestDb::create(&[db::PLATFORM, V1]).await;
    let err = db::migrate(&db.conn, &[db::PLATFORM, V1_EDITED])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("changed after it was applied"),
        "{err}"
    );
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_half_applied() {
    let db = TestDb::create(&[db::PLATFORM]).await;
    const BROKEN: Migrations = Migrations {
        component: "broken",
        list: &[
            Migration {
                version: 1,
                name: "ok",
                sql: "CREATE TABLE half (id INT)",
            },
            Migration {
                version: 2,
                name: "bad",
                sql: "CREATE TABLE oops (id NOSUCHTYPE)",
            },
        ],
    };
    assert!(db::migrate(&db.conn, &[BROKEN]).await.is_err());
    assert_eq!(
        count(
            &db,
            "SELECT count(*)::bigint FROM pg_tables WHERE tablename = 'half'"
        )
        .await,
        0
    );
    assert!(!db::migrations_done(&db.conn, &[BROKEN]).await);
}
